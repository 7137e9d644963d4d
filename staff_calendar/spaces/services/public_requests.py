"""Requests for public rooms: submit, confirm the address, decide, cancel, no-shows, erasure.

Rules:
- A request names one date or a weekly series (``date`` .. ``until``); each date is judged on its own
  (``public_rooms.refusal``, busy time, the monthly hours) and reported per date; only possible dates
  are requested; with none possible nothing is stored. Attendees at most the room's capacity.
- Nothing is held until the address is confirmed (the link's token is stored as SHA-256 only, valid
  ``public_verify_hours``). Confirming re-checks every date under ``locks.room`` (the lock of staff
  room bookings, so a request and a staff booking for the same time: exactly one wins) and
  ``locks.room_requester``; free dates become ``held`` (``STATUS:TENTATIVE`` in the room's
  calendar through the outbox), taken ones ``taken``. A known organisation of the room's
  ``auto_approve`` list is approved at once.
- Monthly hours: held and confirmed uses per calendar month (site time) of one e-mail address and,
  separately, of one organisation, at most ``public_hours_per_month``.
- A room admin approves (held → confirmed, ``STATUS:CONFIRMED``; mail with .ics and manage link) or
  declines with a reason (held → declined; the events are removed, the time is free).
- The manage link cancels one future date or every future date. Staff record no-shows of past dates.
- Erasure: unconfirmed requests after ``public_verify_hours``, every request
  ``public_erase_after_days`` after its last date (worker job ``spaces.public-erasure``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, or_, select

from citizen_portal.core import locks
from citizen_portal.core.addresses import normalised_email
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, localized, site_timezone
from citizen_portal.core.security import keyed_hash, new_token, token_hash
from staff_calendar import services as calendar
from staff_calendar.spaces.models import HOLDING_USES, Room, RoomRequest, RoomUse
from staff_calendar.spaces.public_schemas import PublicRequestInput
from staff_calendar.spaces.services import public_rooms
from staff_calendar.spaces.services.common import Actor, SpacesContext, load_settings, new_uid, now
from staff_calendar.spaces.services.rooms import busy_ranges


@dataclass(frozen=True)
class DateOutcome:
    """One date of a request: its range and, when it cannot be had, why (``code``, ``message``)."""

    start: datetime
    end: datetime
    code: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.code is None


@dataclass(frozen=True)
class Submitted:
    request: RoomRequest
    outcomes: list[DateOutcome]
    token: str  # the confirmation link's secret, shown once (mailed)


def requester_keys(email: str, organisation: str | None) -> tuple[str, str | None]:
    """Keyed hashes of the normalised address and organisation (the monthly hours count by them)."""
    org = " ".join(organisation.casefold().split()) if organisation else None
    return (keyed_hash(normalised_email(email), "room-requester"),
            keyed_hash(org, "room-organisation") if org else None)


def _month(moment: datetime) -> tuple[int, int]:
    local = moment.astimezone(site_timezone())
    return local.year, local.month


def _hours_used(email_key: str, org_key: str | None, months: set[tuple[int, int]],
                exclude_request: int | None = None) -> dict[tuple[int, int], float]:
    """Held and confirmed hours per month of this address or organisation."""
    if not months:
        return {}
    first = min(datetime(y, m, 1, tzinfo=site_timezone()) for y, m in months) - timedelta(days=1)
    last = max(datetime(y, m, 28, tzinfo=site_timezone()) for y, m in months) + timedelta(days=5)
    who = RoomRequest.email_key == email_key
    if org_key:
        who = or_(who, RoomRequest.organisation_key == org_key)
    query = (select(RoomUse.start_at, RoomUse.end_at).join(RoomRequest)
             .where(who, RoomUse.status.in_(HOLDING_USES), RoomUse.start_at >= first, RoomUse.start_at < last))
    if exclude_request is not None:
        query = query.where(RoomRequest.id != exclude_request)
    used: dict[tuple[int, int], float] = defaultdict(float)
    for start, end in db.session.execute(query):
        used[_month(start)] += (end - start).total_seconds() / 3600
    return used


def judge(settings: SpacesContext, room: Room, ranges: list[tuple[datetime, datetime]], email_key: str,
          org_key: str | None, moment: datetime, exclude_request: int | None = None) -> list[DateOutcome]:
    """Each range judged on its own: the calendar rules, busy time, then the monthly hours (counting
    the dates before it that pass)."""
    limit = float(settings["public_hours_per_month"])
    used = _hours_used(email_key, org_key, {_month(start) for start, _ in ranges}, exclude_request)
    outcomes = []
    for start, end in ranges:
        refusal = public_rooms.refusal(settings, room, start, end, moment)
        if refusal is not None:
            outcomes.append(DateOutcome(start, end, refusal.code, str(refusal.message)))
            continue
        day = start.astimezone(site_timezone()).date()
        if public_rooms.conflict_of(busy_ranges(room, day), start, end) is not None:
            outcomes.append(DateOutcome(start, end, "room_taken", str(_l("belegt"))))
            continue
        hours = (end - start).total_seconds() / 3600
        if used[_month(start)] + hours > limit:
            outcomes.append(DateOutcome(start, end, "monthly_limit", str(_l(
                "Monatliches Kontingent von %(hours)s Stunden erreicht.", hours=int(limit)))))
            continue
        used[_month(start)] += hours
        outcomes.append(DateOutcome(start, end))
    return outcomes


def _ranges(settings: SpacesContext, data: PublicRequestInput, moment: datetime) -> list[tuple[datetime, datetime]]:
    fields = {}
    if data.end <= data.start:
        fields["end"] = _l("Das Ende muss nach dem Beginn liegen.")
    for name in ("start", "end"):
        if getattr(data, name).minute % 15:
            fields[name] = _l("Bitte wählen Sie eine Zeit im Viertelstundentakt.")
    if data.until is not None and data.until < data.date:
        fields["until"] = _l("Das Ende der Serie muss nach dem ersten Termin liegen.")
    elif data.until is not None and data.until > public_rooms.last_day(settings, moment):
        fields["until"] = _l("Sie können höchstens %(days)s Tage im Voraus anfragen.",
                             days=settings["public_horizon_days"])
    if fields:
        raise Invalid(fields=fields)
    return [public_rooms.on_day(day, data.start, data.end) for day in public_rooms.series_dates(data.date, data.until)]


def preview(data: PublicRequestInput) -> tuple[Room, list[DateOutcome]]:
    """What a request would get now, per date (nothing written)."""
    settings, moment = load_settings(), now()
    room = public_rooms.public_room(data.room)
    if data.attendees > room.capacity:
        raise Invalid(fields={"attendees": _l("Der Raum bietet Platz für höchstens %(capacity)s Personen.",
                                              capacity=room.capacity)})
    email_key, org_key = requester_keys(data.email, data.organisation)
    return room, judge(settings, room, _ranges(settings, data, moment), email_key, org_key, moment)


def submit(data: PublicRequestInput, language: str) -> Submitted:
    """Store the request (unconfirmed, nothing held) with the dates that are possible now; Invalid when
    none is. The caller mails ``token`` (``public_mails.confirm_address``)."""
    room, outcomes = preview(data)
    if not any(outcome.ok for outcome in outcomes):
        first = outcomes[0]
        raise Invalid(_l("Keiner der Termine ist möglich: %(reason)s", reason=first.message),
                      fields={"date": _l("Keiner der Termine ist möglich: %(reason)s", reason=first.message)},
                      code=first.code or "invalid")
    email_key, org_key = requester_keys(data.email, data.organisation)
    token = new_token(24)
    with write_transaction(locks.room_requester(email_key)):
        request = RoomRequest(room_id=room.id, name=data.name, email=data.email, email_key=email_key,
                              organisation=data.organisation, organisation_key=org_key,
                              show_organisation=bool(data.show_organisation and data.organisation),
                              purpose=data.purpose, attendees=data.attendees, language=language,
                              verify_token_hash=token_hash(token), status="unverified", created_at=now())
        request.uses = [RoomUse(room_id=room.id, start_at=o.start, end_at=o.end, status="wanted", uid=new_uid())
                        for o in outcomes if o.ok]
        db.session.add(request)
    return Submitted(request, outcomes, token)


def by_verify_token(token: str) -> RoomRequest:
    """The unconfirmed request of a confirmation link, else NotFound (used, expired or unknown)."""
    request = db.session.scalar(select(RoomRequest).where(RoomRequest.verify_token_hash == token_hash(token)))
    hours = load_settings()["public_verify_hours"]
    if request is None or request.status != "unverified" or request.created_at < now() - timedelta(hours=hours):
        raise NotFound(_l("Dieser Bestätigungslink ist ungültig oder abgelaufen."))
    return request


def verify(token: str) -> tuple[RoomRequest, list[DateOutcome]]:
    """Confirm the address: hold every wanted date that is still free (tentative), per date; approve at
    once for an organisation of the room's ``auto_approve`` list. The caller mails on approval."""
    request = by_verify_token(token)
    request_id, room_id = request.id, request.room_id
    room = db.session.get(Room, room_id)
    # remote data first: the room's calendar, live per date (the mirror decides on failure)
    remote_busy = {use.id for use in request.uses if room.calendar_key
                   and not calendar.is_free(room.calendar_key, use.start_at, use.end_at).free}
    settings, moment = load_settings(), now()
    with write_transaction(locks.room(room_id), locks.room_requester(request.email_key)):
        request = by_verify_token(token)
        room = public_rooms.public_room(request.room.key)
        wanted = [use for use in request.uses if use.status == "wanted"]
        outcomes = judge(settings, room, [(u.start_at, u.end_at) for u in wanted], request.email_key,
                         request.organisation_key, moment, exclude_request=request_id)
        auto = bool(request.organisation) and request.organisation in (room.public or {}).get("auto_approve", [])
        outcomes = [DateOutcome(o.start, o.end, "room_taken", str(_l("belegt"))) if use.id in remote_busy and o.ok
                    else o for use, o in zip(wanted, outcomes, strict=True)]
        for use, outcome in zip(wanted, outcomes, strict=True):
            use.status = ("confirmed" if auto else "held") if outcome.ok else "taken"
        request.verify_token_hash = None
        held = [use for use in wanted if use.status in HOLDING_USES]
        request.status = ("approved" if auto else "pending") if held else "declined"
        if not held:
            request.decision_reason = str(_l("Alle Termine waren inzwischen belegt."))
        if auto and held:
            request.decided_at = moment
        for use in held:
            _schedule(room, request, use)
        db.session.flush()
    calendar.request_drain()
    return request, outcomes


def event_uid(use: RoomUse) -> str:
    return calendar.event_uid("public-room", use.uid)


def _schedule(room: Room, request: RoomRequest, use: RoomUse) -> None:
    """The use's event in the room's calendar: TENTATIVE while held, CONFIRMED once approved; no
    personal data (the organisation only when it chose to be shown)."""
    if not room.calendar_key:
        return
    label = request.organisation if request.show_organisation and request.organisation else "belegt"
    calendar.schedule_event(
        calendar_key=room.calendar_key, uid=event_uid(use), start=use.start_at, end=use.end_at,
        summary=f"Öffentliche Nutzung: {label}", location=localized(room.name, room.key),
        description=f"Raumanfrage Nr. {request.id}, {request.attendees} Personen",
        status="CONFIRMED" if use.status == "confirmed" else "TENTATIVE")


def _unschedule(room: Room, use: RoomUse) -> None:
    if room.calendar_key:
        calendar.schedule_event_removal(calendar_key=room.calendar_key, uid=event_uid(use))


def pending_requests() -> list[RoomRequest]:
    """Requests waiting for a room admin, oldest first."""
    return list(db.session.scalars(select(RoomRequest).where(RoomRequest.status == "pending")
                                   .order_by(RoomRequest.created_at)))


def recent_requests(limit: int = 50) -> list[RoomRequest]:
    return list(db.session.scalars(select(RoomRequest).where(RoomRequest.status.in_(("approved", "declined",
                                                                                      "cancelled")))
                                   .order_by(RoomRequest.id.desc()).limit(limit)))


def no_show_count(request: RoomRequest) -> int:
    """No-shows recorded for this address or organisation (for the room admin's decision)."""
    who = RoomRequest.email_key == request.email_key
    if request.organisation_key:
        who = or_(who, RoomRequest.organisation_key == request.organisation_key)
    return int(db.session.scalar(select(func.count(RoomUse.id)).join(RoomRequest)
                                 .where(who, RoomUse.no_show.is_(True))) or 0)


def _decidable(request_id: int) -> RoomRequest:
    request = db.session.get(RoomRequest, request_id)
    if request is None:
        raise NotFound(_l("Diese Anfrage gibt es nicht (mehr)."))
    if request.status != "pending":
        raise Conflict(_l("Über diese Anfrage ist schon entschieden."), code="decided")
    return request


def approve(actor: Actor, request_id: int, reason: str = "") -> tuple[RoomRequest, str]:
    """Approve a pending request: its held dates become confirmed (past ones are dropped). Returns the
    request and the new manage link's secret (mailed with the confirmation)."""
    room_id = _decidable(request_id).room_id
    manage = new_token(24)
    with write_transaction(locks.room(room_id)):
        request = _decidable(request_id)
        held = [use for use in request.uses if use.status == "held"]
        for use in held:
            use.status = "confirmed" if use.end_at > now() else "cancelled"
            if use.status == "confirmed":
                _schedule(request.room, request, use)
            else:
                _unschedule(request.room, use)
        request.status, request.decision_reason = "approved", reason or None
        request.decided_by, request.decided_at = actor.id, now()
        request.manage_token_hash = token_hash(manage)
    calendar.request_drain()
    return request, manage


def new_manage_token(request_id: int) -> str:
    """A fresh manage link for an approved request (auto-approval mails it); the old one stops working."""
    manage = new_token(24)
    with write_transaction(locks.room_requests()):
        db.session.get(RoomRequest, request_id).manage_token_hash = token_hash(manage)
    return manage


def decline(actor: Actor, request_id: int, reason: str) -> RoomRequest:
    """Decline a pending request with a reason: its held dates are freed and leave the room's calendar."""
    if not reason.strip():
        raise Invalid(fields={"reason": _l("Bitte geben Sie einen Grund an.")})
    room_id = _decidable(request_id).room_id
    with write_transaction(locks.room(room_id)):
        request = _decidable(request_id)
        for use in request.uses:
            if use.status == "held":
                use.status = "declined"
                _unschedule(request.room, use)
        request.status, request.decision_reason = "declined", reason
        request.decided_by, request.decided_at = actor.id, now()
    calendar.request_drain()
    return request


def by_manage_token(token: str) -> RoomRequest:
    request = db.session.scalar(select(RoomRequest).where(RoomRequest.manage_token_hash == token_hash(token)))
    if request is None:
        raise NotFound(_l("Dieser Link ist ungültig oder abgelaufen."))
    return request


def cancellable(use: RoomUse, moment: datetime | None = None) -> bool:
    return use.status in HOLDING_USES and use.start_at > (moment or now())


def cancel(token: str, use_id: int | None = None) -> list[RoomUse]:
    """Cancel one future date (``use_id``) or every future date of the request behind a manage link."""
    room_id = by_manage_token(token).room_id
    with write_transaction(locks.room(room_id)):
        request = by_manage_token(token)
        chosen = [use for use in request.uses if use_id is None or use.id == use_id]
        if use_id is not None and not chosen:
            raise NotFound(_l("Diesen Termin gibt es nicht."))
        targets = [use for use in chosen if cancellable(use)]
        if not targets:
            raise Invalid(_l("Vergangene Termine können nicht storniert werden."), code="past")
        for use in targets:
            use.status = "cancelled"
            _unschedule(request.room, use)
        if not any(use.status in HOLDING_USES for use in request.uses):
            request.status = "cancelled"
    calendar.request_drain()
    return targets


def record_no_show(actor: Actor, use_id: int, no_show: bool = True) -> RoomUse:
    """Staff record (or take back) that nobody came to a confirmed date that has begun."""
    use = db.session.get(RoomUse, use_id)
    if use is None:
        raise NotFound(_l("Diesen Termin gibt es nicht."))
    with write_transaction(locks.room(use.room_id)):
        use = db.session.get(RoomUse, use_id)
        if use.status != "confirmed" or use.start_at > now():
            raise Invalid(_l("Nur begonnene, bestätigte Termine können als nicht wahrgenommen gelten."),
                          code="not_started")
        use.no_show = no_show
    return use


def uses_for_no_show(moment: datetime | None = None, days: int = 14) -> list[RoomUse]:
    """Confirmed dates of the last ``days`` days, for recording no-shows."""
    moment = moment or now()
    return list(db.session.scalars(select(RoomUse).where(
        RoomUse.status == "confirmed", RoomUse.start_at <= moment,
        RoomUse.start_at >= moment - timedelta(days=days)).order_by(RoomUse.start_at.desc())))


def erase_expired(moment: datetime | None = None) -> int:
    """Delete unconfirmed requests after ``public_verify_hours`` and every request whose last date ended
    ``public_erase_after_days`` ago (its personal data with it); returns how many."""
    settings, moment = load_settings(), moment or now()
    unverified_before = moment - timedelta(hours=settings["public_verify_hours"])
    used_before = moment - timedelta(days=settings["public_erase_after_days"])
    last_end = (select(RoomUse.request_id, func.max(RoomUse.end_at).label("last"))
                .group_by(RoomUse.request_id).subquery())
    with write_transaction(locks.room_requests()):
        ids = set(db.session.scalars(select(RoomRequest.id).where(
            RoomRequest.status == "unverified", RoomRequest.created_at < unverified_before)))
        ids |= set(db.session.scalars(select(last_end.c.request_id).where(last_end.c.last < used_before)))
        if ids:
            db.session.execute(delete(RoomUse).where(RoomUse.request_id.in_(ids)))
            db.session.execute(delete(RoomRequest).where(RoomRequest.id.in_(ids)))
    return len(ids)


def dates_of(request: RoomRequest) -> list[date]:
    return [use.start_at.astimezone(site_timezone()).date() for use in request.uses]
