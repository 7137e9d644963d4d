"""JSON API of the rooms for citizens (``/api/v1``): the catalogue, a room's week and requests
(anyone; an anonymous caller solves the captcha, an API client with ``public-rooms.write`` does not),
and the room admin's pending requests and decisions (role ``room_admin``). Thin over the same services
and schemas as the pages ``/raeume``."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app
from flask_login import current_user
from pydantic import Field

from citizen_portal.core import captcha
from citizen_portal.core.access import bearer_token
from citizen_portal.core.api import USER, Out, Problem, operation
from citizen_portal.core.api_clients import principal_for_token
from citizen_portal.core.extensions import csrf, limiter
from citizen_portal.core.i18n import _l, current_language, localized
from staff_calendar.spaces.public_schemas import DecisionInput, PublicRequestInput, WeekQuery
from staff_calendar.spaces.services import public_mails, public_requests, public_rooms
from staff_calendar.spaces.services.common import Actor, load_settings, now, today_local, week_bounds

bp = Blueprint("public_rooms_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
TAGS = ("public-rooms",)
request_limit = limiter.limit(lambda: current_app.config["PUBLIC_ROOMS_RATE_LIMIT"], scope="public-room-request")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Span(Out):
    start: str = Field(examples=["2026-03-03T17:00:00Z"])
    end: str = Field(examples=["2026-03-03T21:00:00Z"])


class TakenSpan(Span):
    label: str | None = Field(None, description="The organisation, only when it chose to be shown")


class PublicRoomOut(Out):
    key: str
    name: str
    floor: str
    capacity: int
    description: str
    equipment: str
    accessibility: str
    house_rules: str
    hours: dict[str, list[str]] = Field(description="Public hours per weekday (site time), e.g. mon: 18:00-22:00")


class PublicRoomListOut(Out):
    rooms: list[PublicRoomOut]


class PublicDayOut(Out):
    date: str
    closed: str | None = None
    hours: list[Span]
    taken: list[TakenSpan] = Field(description="Busy time, \"belegt\" without names")
    free: list[Span] = Field(description="What may be requested now")


class PublicWeekOut(Out):
    room: str
    days: list[PublicDayOut]


class DateOutcomeOut(Span):
    ok: bool
    error: str | None = None
    message: str | None = None


class RequestOut(Out):
    id: int
    room: str
    status: str = Field(description="unverified (confirmation link mailed), pending, approved, declined, cancelled")
    dates: list[DateOutcomeOut]


class PendingRequestOut(RequestOut):
    name: str
    email: str
    organisation: str | None = None
    purpose: str
    attendees: int


class PendingListOut(Out):
    requests: list[PendingRequestOut]


class DecisionBody(DecisionInput):
    decision: str = Field(pattern="^(approve|decline)$")


def _room_out(room) -> PublicRoomOut:
    public = room.public or {}
    return PublicRoomOut(key=room.key, name=localized(room.name, room.key), floor=room.floor.key,
                         capacity=room.capacity, description=localized(public.get("description")),
                         equipment=localized(public.get("equipment")),
                         accessibility=localized(public.get("accessibility")),
                         house_rules=localized(public.get("house_rules")), hours=dict(public.get("hours") or {}))


@operation(bp, "GET", "/public-rooms", summary=_l("Räume für Bürgerinnen und Bürger"), scope="public-rooms.read",
           responses={200: PublicRoomListOut}, tags=TAGS)
def list_public_rooms() -> PublicRoomListOut:
    return PublicRoomListOut(rooms=[_room_out(room) for room in public_rooms.public_rooms()])


@operation(bp, "GET", "/public-rooms/<key>/week", summary=_l("Belegung eines öffentlichen Raums in einer Woche"),
           scope="public-rooms.read", query=WeekQuery, responses={200: PublicWeekOut, 404: Problem}, tags=TAGS)
def public_room_week(key: str, query: WeekQuery) -> PublicWeekOut:
    room = public_rooms.public_room(key)
    monday, _ = week_bounds(query.date or today_local())
    days = public_rooms.week(load_settings(), room, monday, now())
    return PublicWeekOut(room=room.key, days=[PublicDayOut(
        date=day.day.isoformat(), closed=day.closed, hours=[Span(start=_iso(a), end=_iso(b)) for a, b in day.hours],
        taken=[TakenSpan(start=_iso(a), end=_iso(b), label=label) for a, b, label in day.taken],
        free=[Span(start=_iso(a), end=_iso(b)) for a, b in day.free]) for day in days])


def _outcomes(outcomes) -> list[DateOutcomeOut]:
    return [DateOutcomeOut(start=_iso(o.start), end=_iso(o.end), ok=o.ok, error=o.code, message=o.message)
            for o in outcomes]


@operation(bp, "POST", "/public-room-requests", summary=_l("Öffentlichen Raum anfragen"), scope="public-rooms.write",
           description=_l("Fragt einen Termin oder eine wöchentliche Serie an; jeder Termin wird einzeln geprüft. "
                          "Die Termine werden erst vorgemerkt, wenn die E-Mail-Adresse über den zugeschickten Link "
                          "bestätigt ist. Ohne Token mit dem Scope public-rooms.write ist die Captcha-Lösung "
                          "(altcha) nötig."),
           body=PublicRequestInput, responses={201: RequestOut, 400: Problem, 404: Problem}, tags=TAGS,
           limits=(request_limit,))
def create_public_request(body: PublicRequestInput):
    token = bearer_token()
    caller = principal_for_token(token) if token else None
    if caller is None or not caller.has("public-rooms.write"):
        captcha.verify(body.altcha)
    submitted = public_requests.submit(body, current_language())
    public_mails.confirm_address(submitted.request, submitted.token, submitted.outcomes,
                                 load_settings()["public_verify_hours"])
    return RequestOut(id=submitted.request.id, room=body.room, status="unverified",
                      dates=_outcomes(submitted.outcomes)), 201, {"Cache-Control": "no-store"}




@operation(bp, "GET", "/room-requests", summary=_l("Offene Raumanfragen"), scope="room-requests.manage",
           responses={200: PendingListOut}, tags=TAGS, access=USER, roles=("room_admin",))
def pending_requests() -> PendingListOut:
    return PendingListOut(requests=[PendingRequestOut(
        id=item.id, room=item.room.key, status=item.status, name=item.name, email=item.email,
        organisation=item.organisation, purpose=item.purpose, attendees=item.attendees,
        dates=[DateOutcomeOut(start=_iso(u.start_at), end=_iso(u.end_at), ok=u.status == "held")
               for u in item.uses]) for item in public_requests.pending_requests()])


@operation(bp, "POST", "/room-requests/<int:request_id>/decision", summary=_l("Über eine Raumanfrage entscheiden"),
           scope="room-requests.manage", body=DecisionBody,
           responses={200: RequestOut, 400: Problem, 404: Problem, 409: Problem}, tags=TAGS, access=USER,
           roles=("room_admin",))
def decide_request(request_id: int, body: DecisionBody) -> RequestOut:
    actor = Actor.of(current_user)
    if body.decision == "approve":
        found, manage = public_requests.approve(actor, request_id, body.reason or "")
        public_mails.approved(found, manage)
    else:
        found = public_requests.decline(actor, request_id, body.reason or "")
        public_mails.declined(found)
    return RequestOut(id=found.id, room=found.room.key, status=found.status, dates=[
        DateOutcomeOut(start=_iso(u.start_at), end=_iso(u.end_at), ok=u.status == "confirmed") for u in found.uses])
