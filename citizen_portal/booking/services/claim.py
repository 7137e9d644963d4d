"""The one claim path of a citizen's time: ``appointments.book`` and ``manage.move`` call
``claim_time`` with what they write once a staff member holds the time.

1. The day plan, computed once (``slot_engine.plan``): the start must lie on the slot grid within
   lead time and horizon (else ``Invalid``) and be free for at least one qualified staff member
   (else ``Conflict("slot_taken")`` with the next free times). The free staff members in fair
   order: fewest active appointments on that local day, then staff id; a move puts the
   appointment's own staff member first.
2. For each: the live check of her calendar (``staff_calendar.services.is_free``, before any lock;
   on server failure the mirror decides); busy → the next one.
3. ``write_transaction`` holding her day (``locks.staff_day``), her person-day (``locks.person_day``,
   which her own room bookings take too) and the caller's further locks → re-check: holds of hers
   whose time ran out are expired, then no active appointment and no room booking of hers may
   overlap ``[start, blocked_until)`` → the caller's write → commit. A lost race (overlap found, or
   a unique/exclusion constraint) → the next staff member.
4. Nobody left: ``Conflict("slot_taken")``.

Also here, for ``appointments`` and ``manage``: ``staff_locks``, ``overlapping``, ``release``,
``slot_taken``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError

from citizen_portal.booking.fairness.hooks import FairPass
from citizen_portal.booking.models import (
    ACTIVE_STATUSES,
    EXPIRED,
    PENDING,
    Appointment,
    Location,
    Service,
    SlotClaim,
    StaffMember,
)
from citizen_portal.booking.services.slot_engine import plan
from citizen_portal.booking.services.slots import next_free_slots
from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Conflict, Invalid
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, site_timezone
from staff_calendar import services as calendar_services

T = TypeVar("T")


@dataclass(frozen=True)
class WantedTime:
    """The time a booking or a move wants: ``start`` aware; the staff member is busy until
    ``blocked_until`` (the service's duration plus its buffer)."""

    service: Service
    location: Location
    start: datetime

    @property
    def end(self) -> datetime:
        return self.start.astimezone(UTC) + timedelta(minutes=self.service.duration_minutes)

    @property
    def blocked_until(self) -> datetime:
        return self.end + timedelta(minutes=self.service.buffer_minutes)


class _StaffTaken(Exception):
    """This staff member lost the race for the time: try the next one."""


def claim_time(wanted: WantedTime, write: Callable[[StaffMember], T], *, now: datetime,
               more_locks: Iterable[locks.Lock] = (), moving: Appointment | None = None,
               fair_pass: FairPass | None = None) -> T:
    """Find a staff member who holds ``wanted`` and run ``write(staff)`` in her locked transaction
    (see the module docstring); returns what ``write`` returns. ``moving``: the appointment being
    moved (it blocks nobody, and its staff member is asked first). ``fair_pass``: an accepted
    waiting-list offer or the lottery may book a time fair access withholds from the public. A ``DomainError`` raised by
    ``write`` rolls back and propagates."""
    start, blocked_until = wanted.start.astimezone(UTC), wanted.blocked_until
    ignore_id = moving.id if moving is not None else None
    order = _free_staff_in_order(wanted, now, ignore_id, fair_pass)
    if moving is not None and moving.staff_id in order:
        order.remove(moving.staff_id)
        order.insert(0, moving.staff_id)
    for staff_id in order:
        staff = db.session.get(StaffMember, staff_id)  # the day plan loaded her: no query
        if staff.calendar_key and not calendar_services.is_free(staff.calendar_key, start, blocked_until).free:
            continue
        try:
            with write_transaction(*staff_locks(staff, start), *more_locks):
                if overlapping(staff_id, start, blocked_until, now, ignore_id=ignore_id, expire_stale=True):
                    raise _StaffTaken()
                result = write(staff)
        except (_StaffTaken, IntegrityError):
            continue
        return result
    raise slot_taken(wanted.service, wanted.location.key, start, now)


def _free_staff_in_order(wanted: WantedTime, now: datetime, ignore_id: int | None,
                         fair_pass: FairPass | None = None) -> list[int]:
    """The staff members free at ``wanted.start``, fairly ordered, from one run of the slot engine;
    ``Invalid`` for a time that is not bookable at all, ``slot_taken`` for one nobody has free."""
    start = wanted.start.astimezone(UTC)
    day = start.astimezone(site_timezone()).date()
    result = plan(wanted.service, day, day, now=now, location_key=wanted.location.key,
                  ignore_appointment_id=ignore_id, with_grid=True, fair_pass=fair_pass)
    slot = next((slot for slot in result.slots if slot.start == start), None)
    if slot is None:
        if (wanted.location.key, start) not in result.grid:
            problem = _l("Zu dieser Zeit kann dieser Termin nicht gebucht werden.")
            raise Invalid(problem, fields={"start": problem})
        raise slot_taken(wanted.service, wanted.location.key, start, now)
    return sorted(slot.staff_ids, key=lambda staff_id: (result.load.get((staff_id, day), 0), staff_id))


def staff_locks(staff: StaffMember, start: datetime) -> list[locks.Lock]:
    """What a write that gives ``staff`` time at ``start`` holds: her appointments of that local
    day, and her person-day (shared with her own room bookings)."""
    day = start.astimezone(site_timezone()).date()
    return [locks.staff_day(staff.id, day), locks.person_day(staff.key, day)]


def slot_taken(service: Service, location_key: str, start: datetime, now: datetime) -> Conflict:
    """``Conflict("slot_taken")`` with the next free times from ``start`` as ``alternatives``."""
    alternatives = next_free_slots(service, start, now=now, location_key=location_key)
    return Conflict(
        _l("Dieser Termin ist leider gerade vergeben worden. Bitte wählen Sie eine andere Zeit."),
        code="slot_taken",
        extra={"alternatives": [slot.to_json() for slot in alternatives]},
    )


# the appointments of a staff member in a range that may block it, built once (reused with new parameters:
# no building and cache keying per claim)
_IN_RANGE = select(Appointment.id, Appointment.status, Appointment.hold_expires_at).where(
    Appointment.staff_id == bindparam("staff_id"),
    Appointment.status.in_(ACTIVE_STATUSES),
    Appointment.start_at < bindparam("until"),
    Appointment.blocked_until > bindparam("start"),
)


def overlapping(staff_id: int, start: datetime, blocked_until: datetime, now: datetime,
                ignore_id: int | None = None, *, expire_stale: bool = False) -> bool:
    """Whether an active appointment of ``staff_id`` (a pending one only while its hold lives) or one
    of the staff member's bookings held by ``staff_calendar`` (a room booking) overlaps
    ``[start, blocked_until)``; ``ignore_id`` is the appointment being moved or confirmed.
    ``expire_stale`` (the claim's re-check, inside the lock): her holds in the range whose time ran out
    are expired now (the job would do it later), so their claims do not block a new booking."""
    rows = db.session.execute(_IN_RANGE, {"staff_id": staff_id, "until": blocked_until, "start": start}).all()
    taken = False
    for appointment_id, status, hold_expires_at in rows:
        if status == PENDING and (hold_expires_at is None or hold_expires_at <= now):  # a hold that ran out
            if expire_stale and hold_expires_at is not None:
                release(db.session.get(Appointment, appointment_id), EXPIRED)
        elif appointment_id != ignore_id:
            taken = True
    if taken:
        return True
    staff_key = db.session.get(StaffMember, staff_id).key  # usually loaded already: no query
    return bool(calendar_services.booked_seconds([staff_key], start, blocked_until).get(staff_key))


def release(appointment: Appointment, status: str) -> None:
    """Set ``status`` (cancelled, expired) and drop the appointment's ``SlotClaim``: the time is free."""
    appointment.status = status
    db.session.execute(delete(SlotClaim).where(SlotClaim.appointment_id == appointment.id))
