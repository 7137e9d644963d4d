"""Mails to requesters of public rooms, sent after the commit in the request's language: the
address confirmation link, the approval (every date as an .ics attachment, the manage link) and
the decline with its reason."""

from __future__ import annotations

from flask import current_app, render_template, url_for
from flask_babel import force_locale

from citizen_portal.core.i18n import _, localized, regional
from citizen_portal.core.mail import Attachment, Mail, send_mail
from staff_calendar import services as calendar
from staff_calendar.spaces.models import RoomRequest
from staff_calendar.spaces.services.public_requests import DateOutcome, event_uid


def _link(endpoint: str, **values) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def _send(request: RoomRequest, template: str, subject, kind: str, attachments=(), **context) -> None:
    with force_locale(regional(request.language)):  # English dates in en-GB, 24-hour
        room = localized(request.room.name, request.room.key)
        mail = Mail(to=request.email, subject=str(subject(room)), kind=kind, attachments=list(attachments),
                    text=render_template(template, request=request, room=room, **context))
    send_mail(mail)


def confirm_address(request: RoomRequest, token: str, outcomes: list[DateOutcome], hours: int) -> None:
    _send(request, "email/spaces/public_confirm.txt", lambda room: _("Bitte bestätigen: Raumanfrage %(room)s",
                                                                     room=room),
          "room-request-confirm", link=_link("public_rooms.verify", token=token), outcomes=outcomes, hours=hours)


def approved(request: RoomRequest, manage_token: str) -> None:
    uses = [use for use in request.uses if use.status == "confirmed"]
    room = localized(request.room.name, request.room.key)
    ics = calendar.personal_feed([{"uid": event_uid(use), "summary": room, "start": use.start_at, "end": use.end_at,
                                   "location": room, "description": request.purpose, "transparent": False,
                                   "sequence": 1} for use in uses], name=room)
    _send(request, "email/spaces/public_approved.txt", lambda room: _("Zusage: %(room)s", room=room),
          "room-request-approved", [Attachment("raum.ics", "text/calendar; charset=UTF-8", ics)],
          uses=uses, link=_link("public_rooms.manage", token=manage_token))


def declined(request: RoomRequest) -> None:
    _send(request, "email/spaces/public_declined.txt", lambda room: _("Absage: %(room)s", room=room),
          "room-request-declined")
