"""Booking services: every rule of citizen appointment booking, once.

Public API (views, API, CLI, jobs and helper modules import from here):

Slots (``slots.py``; the engine in ``slot_engine.py``, working time in ``working_hours.py``)
    ``list_services() -> list[Service]``
    ``is_offered(service_key, location_key, start, *, now=None) -> bool`` (a form page's time still free)
    ``find_slots(service_key, first_day, last_day, *, location_key=None, now=None) -> list[Slot]``
    ``slots_json(service_key, first_day, last_day, *, location_key=None, now=None) -> str`` (API body)
    ``days_with_slots(service_key, first_day, last_day, *, location_key=None, now=None) -> dict[date, int]``
    ``booking_settings() -> BookingSettings``; ``Slot`` (``start``, ``end`` aware UTC, ``location_key``, ``to_json()``)

Appointments (``appointments.py``: book, confirm; ``manage.py``: after booking)
    ``book(BookingRequest, *, now=None) -> BookingResult`` (``appointment``, ``manage_token``, ``confirm_token``)
    ``confirm(code, confirm_token, *, now=None) -> BookingResult``
    ``get_by_token(code, manage_token) -> Appointment``
    ``cancel(code, manage_token, *, now=None) -> Appointment``
    ``move(code, manage_token, new_start, *, now=None) -> Appointment``
    ``set_attendance(appointment_id, status, *, now=None) -> Appointment`` (staff: arrived / no_show)
    ``expire_holds(*, now=None) -> int``

Codes and tokens (``codes.py``): ``normalize_code(code) -> str``, ``manage_token_for(appointment) -> str | None``
Staff calendar event (``calendar_events.py``): ``event_summary(appointment) -> str``

Retention and reminders (``retention.py``)
    ``erase_personal_data(*, now=None) -> int``; ``send_reminders(*, now=None) -> int``

Errors: ``Invalid(fields)``, ``NotFound``, ``Conflict(code="slot_taken", extra={"alternatives": [...]})``,
``Conflict(code="limit_reached" | "hold_expired" | "not_cancellable" | "not_movable" | "not_pending")``.
"""

# Imported in dependency order (engine, slots, notifications, codes, events, appointments, manage),
# not alphabetically: submodules import each other, never names from this ``__init__``; should one
# need to, this order keeps the names it uses defined before it runs (no import cycle).
from citizen_portal.booking.services.slot_engine import Slot, booking_settings  # noqa: I001
from citizen_portal.booking.services.slots import (
    MAX_RANGE_DAYS,
    days_with_slots,
    find_slots,
    is_offered,
    list_services,
    slots_json,
)
from citizen_portal.booking.services import notifications
from citizen_portal.booking.services.codes import manage_token_for, normalize_code
from citizen_portal.booking.services.calendar_events import event_summary
from citizen_portal.booking.services.appointments import (
    BookingRequest,
    BookingResult,
    book,
    confirm,
)
from citizen_portal.booking.services.manage import (
    cancel,
    expire_holds,
    get_by_token,
    move,
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
    "is_offered",
    "list_services",
    "manage_token_for",
    "move",
    "normalize_code",
    "notifications",
    "send_reminders",
    "set_attendance",
    "slots_json",
]
