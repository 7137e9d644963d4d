"""Booking services: every rule of citizen appointment booking, once.

Public API (views, API, CLI, jobs and helper modules import from here):

Slots (``slots.py``)
    ``list_services() -> list[Service]``
    ``find_slots(service_key, first_day, last_day, *, location_key=None, now=None) -> list[Slot]``
    ``days_with_slots(service_key, first_day, last_day, *, location_key=None, now=None) -> dict[date, int]``
    ``booking_settings() -> dict``; ``Slot`` (``start``, ``end`` aware UTC, ``location_key``, ``to_json()``)

Appointments (``appointments.py``)
    ``book(BookingRequest, *, now=None) -> BookingResult`` (``appointment``, ``manage_token``, ``confirm_token``)
    ``confirm(code, confirm_token, *, now=None) -> BookingResult``
    ``get_by_token(code, manage_token) -> Appointment``
    ``cancel(code, manage_token, *, now=None) -> Appointment``
    ``move(code, manage_token, new_start, *, now=None) -> Appointment``
    ``set_attendance(appointment_id, status, *, now=None) -> Appointment`` (staff: arrived / no_show)
    ``expire_holds(*, now=None) -> int``

Retention and reminders (``retention.py``)
    ``erase_personal_data(*, now=None) -> int``; ``send_reminders(*, now=None) -> int``

Errors: ``Invalid(fields)``, ``NotFound``, ``Conflict(code="slot_taken", extra={"alternatives": [...]})``,
``Conflict(code="limit_reached" | "hold_expired" | "not_cancellable" | "not_movable" | "not_pending")``.
"""

from citizen_portal.booking.services.slots import (  # noqa: I001 - order avoids an import cycle
    MAX_RANGE_DAYS,
    Slot,
    booking_settings,
    days_with_slots,
    find_slots,
    list_services,
)
from citizen_portal.booking.services import notifications
from citizen_portal.booking.services.appointments import (
    BookingRequest,
    BookingResult,
    book,
    cancel,
    confirm,
    event_summary,
    expire_holds,
    get_by_token,
    manage_token_for,
    move,
    normalize_code,
    set_attendance,
)
from citizen_portal.booking.services.retention import erase_personal_data, send_reminders

__all__ = [
    "MAX_RANGE_DAYS",
    "BookingRequest",
    "BookingResult",
    "Slot",
    "book",
    "booking_settings",
    "cancel",
    "confirm",
    "days_with_slots",
    "erase_personal_data",
    "event_summary",
    "expire_holds",
    "find_slots",
    "get_by_token",
    "list_services",
    "manage_token_for",
    "move",
    "normalize_code",
    "notifications",
    "send_reminders",
    "set_attendance",
]
