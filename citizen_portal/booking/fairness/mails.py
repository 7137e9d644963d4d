"""Mails of fair access, always after the commit (``core.mail.send_mail``: outbox, immediate try):
the double opt-in link, the status/leave link, an offer, a lottery result. A failing mail is logged
by its kind only and reported by ``False``, never raised. Links: ``<BASE_URL>/termine/warteliste/…``."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import current_app, render_template
from flask_babel import force_locale

from citizen_portal.core.i18n import _, regional
from citizen_portal.core.mail import Mail, send_mail

log = logging.getLogger(__name__)


def link(path: str, token: str) -> str:
    """An absolute link with its token (the views serve these paths)."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/termine/warteliste/{path}?token={quote(token)}"


def _send(to: str | None, language: str, kind: str, subject: Any, template: str, **context: Any) -> bool:
    if not to:
        return True
    try:
        with force_locale(regional(language or "de")):  # English dates in en-GB, 24-hour
            text = render_template(f"email/fairness/{template}.txt", **context)
            send_mail(Mail(to=to, subject=str(subject()), text=text, kind=kind))
    except Exception as error:
        log.error("fairness mail failed: %s (%s)", kind, type(error).__name__)
        return False
    return True


def _service_name(service: Any, language: str) -> str:
    names = service.name or {}
    return names.get(language) or names.get("de") or next(iter(names.values()), service.key)


def join_confirmation(entry: Any, token: str) -> bool:
    """Double opt-in: confirm the waiting-list entry by this link."""
    return _send(entry.email, entry.language, "waiting-list-join",
                 lambda: _("Bitte bestätigen Sie Ihren Platz auf der Warteliste"),
                 "join_confirm", entry=entry, service_name=_service_name(entry.service, entry.language),
                 url=link(f"bestaetigen/{entry.id}", token))


def status_link(entry: Any, token: str) -> bool:
    """On the list: the link to see the position band and to leave."""
    return _send(entry.email, entry.language, "waiting-list-status", lambda: _("Sie stehen auf der Warteliste"),
                 "status", entry=entry, service_name=_service_name(entry.service, entry.language),
                 url=link(f"eintrag/{entry.id}", token))


def offer(offer_row: Any, token: str) -> bool:
    """A freed time is offered until ``expires_at``."""
    entry = offer_row.entry
    return _send(entry.email, entry.language, "waiting-list-offer", lambda: _("Ein Termin ist frei geworden"),
                 "offer", offer=offer_row, service_name=_service_name(offer_row.service, entry.language),
                 url=link(f"angebot/{offer_row.id}", token))


def lottery_result(request_row: Any, service: Any, start: datetime | None, join_token: str | None) -> bool:
    """The lottery's result: the booked time (its confirmation mail comes separately) or, for those
    not drawn, the one-click link to the waiting list."""
    return _send(request_row.email, request_row.language, "release-window-result",
                 lambda: _("Ergebnis der Terminvergabe"), "lottery_result", start=start,
                 service_name=_service_name(service, request_row.language),
                 url=link(f"aus-losung/{request_row.id}", join_token) if join_token else None)


def request_confirmation(request_row: Any, service: Any, token: str) -> bool:
    """Double opt-in of a release-window request."""
    return _send(request_row.email, request_row.language, "release-window-request",
                 lambda: _("Bitte bestätigen Sie Ihre Teilnahme an der Terminvergabe"), "request_confirm",
                 service_name=_service_name(service, request_row.language), window=request_row.window,
                 url=link(f"losung/bestaetigen/{request_row.id}", token))
