"""Ideas and improvement suggestions ("Ideen und Verbesserungsvorschläge").

Rules:
* a citizen submits title, text, optional category and an email address; the suggestion reaches
  the moderators only after the address was confirmed with a one-time link (48 hours);
* moderators publish it or reject it with a reason (the reason goes to the submitter);
* a published suggestion can be supported once per verified address: the address is kept only
  as an HMAC (app secret, suggestion id), the unique constraint forbids a second support;
* the administration sets a status (received, under review, planned, done, declined) with a
  public answer; the submitter is notified of moderation and status changes by mail, after the
  commit; with a final status (done, declined) the stored address is deleted after notifying;
* the submitter's address is never shown publicly nor in the API;
* a suggestion whose address was not confirmed within ``POLLS_UNCONFIRMED_SUGGESTION_HOURS`` is
  deleted with its address and its links (``delete_unconfirmed``, a worker job): it never reached
  the moderators, so nothing else refers to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, current_language, regional
from citizen_portal.core.mail import Mail, send_mail
from citizen_portal.core.security import token_hash

from ..models import SUGGESTION_STATUSES, EmailToken, Suggestion, SuggestionSupport
from ..schemas import SuggestionInput
from .common import app_key, keyed_hash, new_link_token, normalize_email, now
from .webhook_events import emit_suggestion_status

LINK_VALID = timedelta(hours=48)
FINAL_STATUSES = ("done", "declined")

STATUS_LABELS = {
    "received": _l("Eingegangen"),
    "under_review": _l("In Prüfung"),
    "planned": _l("Geplant"),
    "done": _l("Umgesetzt"),
    "declined": _l("Abgelehnt"),
}


@dataclass
class Notification:
    to: str
    kind: str
    template: str
    subject: object  # a lazy string, rendered in ``language`` when sent
    context: dict
    language: str = "de"


def support_hash(suggestion_id: int, email: str) -> str:
    return keyed_hash(app_key("support"), f"{suggestion_id}:{normalize_email(email)}")


def public_suggestions(status: str | None = None) -> list[Suggestion]:
    query = select(Suggestion).where(Suggestion.moderation == "published")
    if status in SUGGESTION_STATUSES:
        query = query.where(Suggestion.status == status)
    return list(db.session.scalars(query.order_by(Suggestion.supporters.desc(), Suggestion.id.desc())))


def get_public_suggestion(suggestion_id: int) -> Suggestion:
    suggestion = db.session.get(Suggestion, suggestion_id)
    if suggestion is None or suggestion.moderation != "published":
        raise NotFound()
    return suggestion


def get_suggestion(suggestion_id: int) -> Suggestion:
    suggestion = db.session.get(Suggestion, suggestion_id)
    if suggestion is None:
        raise NotFound()
    return suggestion


def moderation_queue() -> list[Suggestion]:
    return list(db.session.scalars(
        select(Suggestion).where(Suggestion.email_verified.is_(True))
        .order_by((Suggestion.moderation == "pending").desc(), Suggestion.id.desc())
    ))


def _link(endpoint: str, token: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, token=token)


def submit(data: SuggestionInput) -> Notification:
    """A new suggestion, waiting for its confirmation link."""
    token = new_link_token()
    expires_at = now() + LINK_VALID
    with write_transaction(locks.suggestions()):
        suggestion = Suggestion(title=data.title, text=data.text, category=data.category,
                                email=data.email, language=current_language())
        db.session.add(suggestion)
        db.session.flush()
        db.session.add(EmailToken(token_hash=token_hash(token), purpose="suggest", target_id=suggestion.id,
                                  email_hash=keyed_hash(app_key("suggest"), normalize_email(data.email)),
                                  expires_at=expires_at))
    return Notification(data.email, "polls.suggestion_confirm", "email/polls/suggestion_confirm.txt",
                        _l("Bitte bestätigen Sie Ihren Vorschlag"),
                        {"title": data.title, "link": _link("polls.suggestion_confirm", token),
                         "hours": int(LINK_VALID.total_seconds() // 3600), "expires": expires_at}, current_language())


def _take_token(token: str, purpose: str) -> EmailToken:
    row = db.session.get(EmailToken, token_hash(token)) if token and len(token) <= 100 else None
    if row is None or row.purpose != purpose or row.expires_at <= now():
        raise Conflict(_l("Der Link ist ungültig, abgelaufen oder wurde schon benutzt."), code="link_invalid")
    db.session.delete(row)
    return row


def peek_token(token: str) -> str | None:
    """The purpose of a valid token (to show the right confirmation page), or None."""
    row = db.session.get(EmailToken, token_hash(token)) if token and len(token) <= 100 else None
    if row is None or row.expires_at <= now() or row.purpose not in ("suggest", "support"):
        return None
    return row.purpose


def confirm(token: str) -> Suggestion:
    """Confirm a submission or a support with the one-time link."""
    with write_transaction(locks.suggestions()):
        row = _take_token(token, peek_token(token) or "suggest")
        suggestion = get_suggestion(row.target_id)
        if row.purpose == "suggest":
            suggestion.email_verified = True
            return suggestion
        if suggestion.moderation != "published":
            raise Conflict(_l("Dieser Vorschlag kann nicht unterstützt werden."), code="not_published")
        db.session.add(SuggestionSupport(suggestion_id=suggestion.id, email_hash=row.email_hash))
        try:
            db.session.flush()
        except IntegrityError:
            raise Conflict(_l("Sie unterstützen diesen Vorschlag bereits."), code="already_supported") from None
        db.session.execute(update(Suggestion).where(Suggestion.id == suggestion.id)
                           .values(supporters=Suggestion.supporters + 1))
    db.session.refresh(suggestion)
    return suggestion


def request_support(suggestion_id: int, email: str) -> Notification | None:
    """A one-time link to confirm the support; None (nothing sent) if the address supports it already."""
    token = new_link_token()
    expires_at = now() + LINK_VALID
    marker = support_hash(suggestion_id, email)
    with write_transaction(locks.suggestions()):
        suggestion = get_public_suggestion(suggestion_id)
        if suggestion.status in FINAL_STATUSES:
            raise Conflict(_l("Dieser Vorschlag ist abgeschlossen und kann nicht mehr unterstützt werden."),
                           code="suggestion_closed")
        if db.session.scalar(select(SuggestionSupport.id).where(SuggestionSupport.suggestion_id == suggestion_id,
                                                                SuggestionSupport.email_hash == marker)):
            return None
        db.session.add(EmailToken(token_hash=token_hash(token), purpose="support", target_id=suggestion_id,
                                  email_hash=marker, expires_at=expires_at))
        title = suggestion.title
    return Notification(email, "polls.support_confirm", "email/polls/support_confirm.txt",
                        _l("Bitte bestätigen Sie Ihre Unterstützung"),
                        {"title": title, "link": _link("polls.suggestion_confirm", token),
                         "hours": int(LINK_VALID.total_seconds() // 3600), "expires": expires_at}, current_language())


def moderate(suggestion_id: int, decision: str, reason: str | None, actor_id: int | None) -> Notification | None:
    """Publish or reject (``schemas.ModerationInput``) a suggestion whose address was confirmed; a
    rejection needs a reason, which goes to the submitter."""
    reason = (reason or "").strip()
    if decision == "reject" and not reason:
        raise Invalid(fields={"reason": _l("Bitte nennen Sie einen Grund für die Ablehnung.")})
    with write_transaction(locks.suggestions()):
        suggestion = get_suggestion(suggestion_id)
        if not suggestion.email_verified:
            raise Conflict(_l("Die E-Mail-Adresse ist noch nicht bestätigt."), code="not_verified")
        suggestion.moderation = "published" if decision == "publish" else "rejected"
        suggestion.rejection_reason = reason if decision == "reject" else None
        suggestion.moderated_by_id = actor_id
        notification = _notification(suggestion, "polls.suggestion_moderated", "email/polls/suggestion_moderated.txt",
                                      {"published": decision == "publish", "reason": reason})
        if decision == "reject":
            suggestion.email = None  # final: nothing more to tell
    return notification


def set_status(suggestion_id: int, status: str, answer: str | None, actor_id: int | None) -> Notification | None:
    """Set the status (``schemas.StatusInput``) and public answer of a published suggestion."""
    answer = (answer or "").strip()
    with write_transaction(locks.suggestions()):
        suggestion = get_suggestion(suggestion_id)
        if suggestion.moderation != "published":
            raise Conflict(_l("Nur veröffentlichte Vorschläge erhalten einen Status."), code="not_published")
        changed = suggestion.status != status or (suggestion.answer or "") != answer
        previous = suggestion.status
        suggestion.status = status
        suggestion.answer = answer or None
        suggestion.moderated_by_id = actor_id
        notification = None
        if changed:
            notification = _notification(suggestion, "polls.suggestion_status", "email/polls/suggestion_status.txt",
                                          {"status": STATUS_LABELS[status], "answer": answer})
        if status in FINAL_STATUSES:
            suggestion.email = None
        if previous != status:
            emit_suggestion_status(suggestion, previous)
    return notification


def _notification(suggestion: Suggestion, kind: str, template: str, extra: dict) -> Notification | None:
    if not suggestion.email:
        return None
    link = current_app.config["BASE_URL"].rstrip("/") + url_for("polls.suggestion", suggestion_id=suggestion.id)
    return Notification(suggestion.email, kind, template,
                        _l("Neuigkeiten zu Ihrem Vorschlag: %(title)s", title=suggestion.title),
                        {"title": suggestion.title, "link": link, **extra}, suggestion.language)


def deliver(notification: Notification | None) -> None:
    """After commit: send the notification, if any, in its language; dates and times as that language's
    region writes them (``regional``: English in en-GB, 24-hour)."""
    if notification is None:
        return
    with force_locale(regional(notification.language)):
        mail = Mail(to=notification.to, subject=str(notification.subject),
                    text=render_template(notification.template, **notification.context), kind=notification.kind)
    send_mail(mail)


def delete_unconfirmed(moment: datetime | None = None) -> int:
    """Delete the suggestions (and their open links) whose address is still unconfirmed
    ``POLLS_UNCONFIRMED_SUGGESTION_HOURS`` after submission; returns how many."""
    limit = (moment or now()) - timedelta(hours=int(current_app.config["POLLS_UNCONFIRMED_SUGGESTION_HOURS"]))
    with write_transaction(locks.suggestions()):
        ids = list(db.session.scalars(select(Suggestion.id).where(Suggestion.email_verified.is_(False),
                                                                  Suggestion.created_at <= limit)))
        if ids:
            db.session.execute(delete(EmailToken).where(EmailToken.purpose == "suggest",
                                                        EmailToken.target_id.in_(ids)))
            db.session.execute(delete(Suggestion).where(Suggestion.id.in_(ids)))
    return len(ids)


def purge_expired_tokens() -> int:
    with write_transaction(locks.poll_tokens()):
        result = db.session.execute(delete(EmailToken).where(EmailToken.expires_at <= now()))
    return result.rowcount or 0
