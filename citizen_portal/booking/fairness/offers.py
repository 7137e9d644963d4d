"""Offers of freed times to the waiting list.

Rules:
- A time freed by a cancellation (``time_freed``, called after the cancel's commit; the cancelled
  slot delay keeps the public away meanwhile) of a service with a waiting list becomes a
  ``Reservation`` (withheld from the public, ``hooks.withheld``) when someone on the list matches it.
  Each further cancellation at that time (another staff member's appointment) adds a seat.
- Matching (``matches``): the entry's preferred locations, weekdays and part of the day (morning:
  starts before 12:00 local), each empty list meaning any.
- It is offered to the first ``offer_group_size`` × seats matching waiting entries (list order, see
  ``waiting_list``) who have not had an offer of this time, each offer valid ``offer_hours``.
- ``accept``: only an open, unexpired offer; books through ``booking.services.book`` with a
  ``FairPass`` (mail, .ics, calendar event as every booking). One wins; a loser of the same time
  (``slot_taken``) gets ``Conflict("offer_lost")``, priority on the list (the next matching offer
  goes to them first) and stays on the list. An accepted offer takes one seat; the last seat ends the
  reservation and withdraws the offers still open.
- ``expire_offers`` (job): open offers past ``expires_at`` expire (the entry keeps its place), the
  next matching people get the time; nobody left (or the time passed): the reservation ends and the
  time is public.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from citizen_portal.booking.fairness import mails
from citizen_portal.booking.fairness.hooks import FairPass
from citizen_portal.booking.fairness.models import (
    ACCEPTED,
    BOOKED,
    ENTRY_ACTIVE,
    EXPIRED,
    LOST,
    OFFERED,
    OPEN,
    WAITING,
    WITHDRAWN,
    Reservation,
    WaitingEntry,
    WaitingOffer,
)
from citizen_portal.booking.fairness.waiting_list import end_entry, has_active_appointment
from citizen_portal.booking.models import CANCELLED, Appointment
from citizen_portal.booking.schemas import Contact
from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Conflict, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, site_timezone
from citizen_portal.core.security import new_token, same, token_hash


def matches(preferences: dict, location_key: str, start: datetime) -> bool:
    """Whether a time at a location suits an entry's preferences (see the module docstring)."""
    local = start.astimezone(site_timezone())
    part = "morning" if local.hour < 12 else "afternoon"
    return ((not preferences.get("locations") or location_key in preferences["locations"])
            and (not preferences.get("weekdays") or local.weekday() in preferences["weekdays"])
            and (not preferences.get("parts") or part in preferences["parts"]))


def _key(reservation: Reservation) -> str:
    return f"{reservation.service_id}:{reservation.location_id}:{reservation.start_at.astimezone(UTC).isoformat()}"


def _offer_next(reservation: Reservation, now: datetime) -> list[tuple[WaitingOffer, str]]:
    """Inside the service's lock: open offers of the reservation to the next matching entries up to
    the group size per seat; the reservation ends when none is open and nobody is left. Returns the new offers
    with their tokens (mailed after the commit)."""
    service = reservation.service
    key = _key(reservation)
    open_count = len(db.session.scalars(select(WaitingOffer.id).where(
        WaitingOffer.reservation_key == key, WaitingOffer.status == OPEN)).all())
    had = set(db.session.scalars(select(WaitingOffer.entry_id).where(WaitingOffer.reservation_key == key)))
    created: list[tuple[WaitingOffer, str]] = []
    if reservation.start_at > now:
        candidates = db.session.scalars(select(WaitingEntry).where(
            WaitingEntry.service_id == service.id, WaitingEntry.status == WAITING)
            .order_by(WaitingEntry.priority.desc(), WaitingEntry.confirmed_at, WaitingEntry.id)).all()
        for entry in candidates:
            if open_count + len(created) >= max(service.offer_group_size, 1) * reservation.seats:
                break
            if entry.id in had or not matches(entry.preferences or {}, reservation.location.key, reservation.start_at):
                continue
            if has_active_appointment(entry.email_hash, service.id, now):
                end_entry(entry, BOOKED, "booked_elsewhere", now)
                continue
            token = new_token(24)
            offer = WaitingOffer(entry_id=entry.id, service_id=service.id, location_id=reservation.location_id,
                                 start_at=reservation.start_at, reservation_key=key, token_hash=token_hash(token),
                                 sent_at=now, expires_at=now + timedelta(hours=service.offer_hours))
            entry.status, entry.priority = OFFERED, 0
            db.session.add(offer)
            created.append((offer, token))
    if open_count + len(created) == 0:
        db.session.delete(reservation)
    db.session.flush()
    return created


def _mail_all(created: list[tuple[WaitingOffer, str]]) -> None:
    for offer, token in created:
        mails.offer(offer, token)


def time_freed(appointment_id: int, *, now: datetime | None = None) -> int:
    """After a cancellation's commit: withhold the freed time for the waiting list and offer it
    (see the module docstring). Returns how many offers went out."""
    now = now or datetime.now(UTC)
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.status != CANCELLED or appointment.start_at <= now:
        return 0
    service = appointment.service
    if service.waiting_list == "off":
        return 0
    with write_transaction(locks.waiting_list(service.id)):
        existing = db.session.scalars(select(Reservation).where(
            Reservation.service_id == service.id, Reservation.location_id == appointment.location_id,
            Reservation.start_at == appointment.start_at)).first()
        if existing is not None:
            existing.seats += 1
            created = _offer_next(existing, now)
        else:
            reservation = Reservation(service_id=service.id, location_id=appointment.location_id,
                                      start_at=appointment.start_at, freed_appointment_id=appointment.id,
                                      created_at=now)
            db.session.add(reservation)
            db.session.flush()
            created = _offer_next(reservation, now)
    _mail_all(created)
    return len(created)


def get_offer(offer_id: int, token: str | None) -> WaitingOffer:
    """The offer behind a link; ``NotFound`` for a wrong token."""
    offer = db.session.get(WaitingOffer, offer_id)
    if offer is None or not token or not same(offer.token_hash, token_hash(token)):
        raise NotFound(_l("Dieses Angebot gibt es nicht, oder der Link ist nicht mehr gültig."))
    return offer


def _closed() -> Conflict:
    return Conflict(_l("Dieses Angebot gilt nicht mehr. Sie bleiben auf der Warteliste."), code="offer_closed")


def accept(offer_id: int, token: str, *, now: datetime | None = None):
    """Accept an offer: book the time (``booking.services.book``, with a ``FairPass``) and end the
    entry; see the module docstring for a lost race. Returns the ``BookingResult``."""
    from citizen_portal.booking.services import BookingRequest, book

    now = now or datetime.now(UTC)
    offer = get_offer(offer_id, token)
    if offer.status != OPEN or offer.expires_at <= now:
        raise _closed()
    entry = offer.entry
    reservation = db.session.scalars(select(Reservation).where(
        Reservation.service_id == offer.service_id, Reservation.location_id == offer.location_id,
        Reservation.start_at == offer.start_at)).first()
    request = BookingRequest(
        service_key=offer.service.key, location_key=offer.location.key, start=offer.start_at,
        contact=Contact(name=entry.name or "-", email=entry.email or "", privacy_consent=True),
        language=entry.language, fair_pass=FairPass(reservation_id=reservation.id if reservation else None))
    try:
        result = book(request, now=now)
    except Conflict as error:
        with write_transaction(locks.waiting_list(offer.service_id)):
            offer = db.session.get(WaitingOffer, offer_id)
            # the winner may have withdrawn this offer already; one that was tried and lost is LOST
            if offer.status == OPEN or (offer.status == WITHDRAWN and error.code == "slot_taken"):
                offer.status, offer.decided_at = LOST, now
                if error.code == "limit_reached":
                    end_entry(offer.entry, BOOKED, "booked_elsewhere", now)
                elif offer.entry.status in ENTRY_ACTIVE:
                    offer.entry.status, offer.entry.priority = WAITING, 1
        if error.code == "slot_taken":
            raise Conflict(_l("Jemand war schneller. Sie bleiben auf der Warteliste und bekommen das nächste "
                              "passende Angebot zuerst."), code="offer_lost") from None
        raise
    with write_transaction(locks.waiting_list(offer.service_id)):
        offer = db.session.get(WaitingOffer, offer_id)
        offer.status, offer.decided_at, offer.appointment_id = ACCEPTED, now, result.appointment.id
        end_entry(offer.entry, BOOKED, "accepted", now)
        if reservation is not None:
            _take_seat(reservation.id, offer.reservation_key, now)
    return result


def _take_seat(reservation_id: int, key: str, now: datetime) -> None:
    """Inside the service's lock, after an accepted offer: one seat fewer; the last one ends the
    reservation and withdraws the offers of this time still open (their entries keep priority)."""
    reservation = db.session.scalars(select(Reservation).where(Reservation.id == reservation_id)
                                     .execution_options(populate_existing=True)).first()
    if reservation is None:
        return
    if reservation.seats > 1:
        reservation.seats -= 1
        return
    for other in db.session.scalars(select(WaitingOffer).where(
            WaitingOffer.reservation_key == key, WaitingOffer.status == OPEN)):
        other.status, other.decided_at = WITHDRAWN, now
        if other.entry.status == OFFERED:
            other.entry.status, other.entry.priority = WAITING, 1
    db.session.execute(Reservation.__table__.delete().where(Reservation.id == reservation_id))


def withdraw_open_offers(entry: WaitingEntry, now: datetime) -> None:
    """Inside the caller's lock: the entry's open offers are withdrawn (the job offers them on)."""
    for offer in db.session.scalars(select(WaitingOffer).where(
            WaitingOffer.entry_id == entry.id, WaitingOffer.status == OPEN)):
        offer.status, offer.decided_at = WITHDRAWN, now


def expire_offers(*, now: datetime | None = None) -> int:
    """Job: expire offers past their time, offer each reservation without an open offer to the next
    people, end reservations nobody is left for. Returns the number of new offers."""
    now = now or datetime.now(UTC)
    created: list[tuple[WaitingOffer, str]] = []
    for service_id in db.session.scalars(select(Reservation.service_id).distinct()).all():
        with write_transaction(locks.waiting_list(service_id)):
            for offer in db.session.scalars(select(WaitingOffer).where(
                    WaitingOffer.service_id == service_id, WaitingOffer.status == OPEN,
                    WaitingOffer.expires_at <= now)):
                offer.status, offer.decided_at = EXPIRED, now
                if offer.entry.status == OFFERED:
                    offer.entry.status = WAITING
            db.session.flush()
            for reservation in db.session.scalars(select(Reservation).where(
                    Reservation.service_id == service_id)).all():
                created += _offer_next(reservation, now)
    _mail_all(created)
    return len(created)
