"""JSON API of fair access (``/api/v1``): join/confirm/status/leave the waiting list, accept an
offer, ask for a time in a release window and confirm it. Thin adapter over ``waiting_list``,
``offers`` and ``lottery``; every operation is declared with ``core.api.operation`` (OpenAPI).
Anonymous writes need the captcha (like booking) unless the caller's token holds
``appointments.write``; the tokens of the mails' links are sent in the body (double opt-in, offer) or
as ``Authorization: Bearer`` (the entry's status token)."""

from __future__ import annotations

from flask import Blueprint

from citizen_portal.booking.api_schemas import BookedAppointmentOut, SlotTakenProblem
from citizen_portal.booking.fairness import lottery, offers, waiting_list
from citizen_portal.booking.fairness.api_schemas import (
    AcceptedOut,
    ConfirmedEntryOut,
    ReleaseRequestOut,
    WaitingEntryOut,
)
from citizen_portal.booking.fairness.models import WaitingEntry
from citizen_portal.booking.fairness.schemas import JoinBody, JoinRequest, TokenBody
from citizen_portal.booking.limits import booking_limit
from citizen_portal.booking.schemas import NoBody
from citizen_portal.core import captcha
from citizen_portal.core.access import bearer_token
from citizen_portal.core.api import MANAGE_TOKEN, Problem, operation
from citizen_portal.core.api_clients import principal_for_token
from citizen_portal.core.extensions import csrf
from citizen_portal.core.i18n import _l, current_language, supported_locales

bp = Blueprint("fairness_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
TAGS = ("waiting list",)


def _human_or_trusted(body: JoinBody) -> tuple[JoinRequest, str]:
    """The captcha for anonymous callers; the join data and the mail language."""
    token = bearer_token()
    caller = principal_for_token(token) if token else None
    if caller is None or not caller.has("appointments.write"):
        captcha.verify(body.altcha)
    data = JoinRequest(**body.model_dump(exclude={"altcha", "language"}))
    return data, body.language if body.language in supported_locales() else current_language()


def entry_out(entry: WaitingEntry) -> WaitingEntryOut:
    return WaitingEntryOut(id=entry.id, service=entry.service.key, status=entry.status,
                           people_ahead=waiting_list.position_band(waiting_list.people_ahead(entry)),
                           preferences=entry.preferences or {})


@operation(bp, "POST", "/services/<key>/waiting-list", summary=_l("Auf die Warteliste"), scope="appointments.write",
           description=_l("Trägt eine E-Mail-Adresse in die Warteliste ein; gültig erst nach dem Bestätigungslink "
                          "aus der E-Mail."),
           body=JoinBody, responses={202: AcceptedOut, 404: Problem, 409: Problem}, tags=TAGS, limits=(booking_limit,))
def join_waiting_list(key: str, body: JoinBody):
    data, language = _human_or_trusted(body)
    waiting_list.join(key, data, language=language)
    return AcceptedOut(status="confirmation_sent"), 202


@operation(bp, "POST", "/waiting-list/<int:entry_id>/confirmation", summary=_l("Platz auf der Warteliste bestätigen"),
           scope="appointments.write", body=TokenBody, responses={200: ConfirmedEntryOut, 404: Problem},
           tags=TAGS, limits=(booking_limit,))
def confirm_waiting_list(entry_id: int, body: TokenBody):
    entry, manage_token = waiting_list.confirm_join(entry_id, body.token)
    return ConfirmedEntryOut(**entry_out(entry).model_dump(), manage_token=manage_token), 200, \
        {"Cache-Control": "no-store"}


@operation(bp, "GET", "/waiting-list/<int:entry_id>", summary=_l("Platz auf der Warteliste anzeigen"),
           scope="appointments.read", responses={200: WaitingEntryOut, 404: Problem}, tags=TAGS, access=MANAGE_TOKEN)
def show_waiting_entry(entry_id: int) -> WaitingEntryOut:
    return entry_out(waiting_list.get_entry(entry_id, bearer_token() or ""))


@operation(bp, "DELETE", "/waiting-list/<int:entry_id>", summary=_l("Warteliste verlassen"),
           scope="appointments.write", body=NoBody, responses={200: WaitingEntryOut, 404: Problem}, tags=TAGS,
           access=MANAGE_TOKEN, limits=(booking_limit,))
def leave_waiting_list(entry_id: int, body: NoBody) -> WaitingEntryOut:
    entry = waiting_list.get_entry(entry_id, bearer_token() or "")
    waiting_list.leave(entry_id, bearer_token() or "")
    return entry_out(entry)


@operation(bp, "POST", "/waiting-list/offers/<int:offer_id>/acceptance", summary=_l("Terminangebot annehmen"),
           scope="appointments.write", description=_l("Bucht die angebotene Zeit mit dem Token aus der E-Mail."),
           body=TokenBody, responses={201: BookedAppointmentOut, 404: Problem, 409: SlotTakenProblem}, tags=TAGS,
           limits=(booking_limit,))
def accept_offer(offer_id: int, body: TokenBody):
    result = offers.accept(offer_id, body.token)
    answer = BookedAppointmentOut.of(result.appointment, manage_token=result.manage_token)  # as POST /appointments
    return answer, 201, {"Cache-Control": "no-store"}


@operation(bp, "POST", "/services/<key>/release-requests", summary=_l("An der Verlosung teilnehmen"),
           scope="appointments.write",
           description=_l("Eine Anfrage je Person in der offenen Annahmezeit; sie zählt nach dem Bestätigungslink "
                          "aus der E-Mail. 409 window_closed außerhalb der Annahmezeit."),
           body=JoinBody, responses={202: AcceptedOut, 404: Problem, 409: Problem}, tags=TAGS, limits=(booking_limit,))
def request_release(key: str, body: JoinBody):
    data, language = _human_or_trusted(body)
    lottery.request_time(key, data, language=language)
    return AcceptedOut(status="confirmation_sent"), 202


@operation(bp, "POST", "/release-requests/<int:request_id>/confirmation", summary=_l("Teilnahme bestätigen"),
           scope="appointments.write", body=TokenBody, responses={200: ReleaseRequestOut, 404: Problem, 409: Problem},
           tags=TAGS, limits=(booking_limit,))
def confirm_release_request(request_id: int, body: TokenBody) -> ReleaseRequestOut:
    row = lottery.confirm_request(request_id, body.token)
    return ReleaseRequestOut(id=row.id, day=row.window.day.isoformat(), confirmed=row.confirmed_at is not None,
                             result=row.result)
