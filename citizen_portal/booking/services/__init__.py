"""Booking services: every rule of citizen appointment booking, once.

Public API (views, API, CLI, jobs and helper modules import from here):

Slots (``slots.py``; the engine in ``slot_engine.py``, working time in ``working_hours.py``)
    ``list_services() -> list[Service]``
    ``load_service(service_key) -> Service``; ``offered_location(service, location_key) -> Location``
    (``NotFound`` unless the active location offers the service: the one check of "offered here")
    ``is_offered(service_key, location_key, start, *, now=None) -> bool`` (a form page's time still free)
    ``find_slots(service_key, first_day, last_day, *, location_key=None, now=None) -> list[Slot]``
    ``slots_json(service_key, first_day, last_day, *, location_key=None, now=None) -> str`` (API body)
    ``days_with_slots(service_key, first_day, last_day, *, location_key=None, now=None) -> dict[date, int]``
    ``booking_settings() -> BookingSettings``; ``Slot`` (``start``, ``end`` aware UTC, ``location_key``, ``to_json()``)

Appointments (``appointments.py``: book, confirm; ``manage.py``: after booking; both claim time
through ``claim.py``)
    ``book(BookingRequest, *, now=None) -> BookingResult`` (``appointment``, ``manage_token``, ``confirm_token``)
    ``confirm(code, confirm_token, *, now=None) -> BookingResult``
    ``get_by_token(code, manage_token) -> Appointment``
    ``changeable(appointment, *, now=None) -> bool`` (the citizen may still cancel or move it)
    ``cancel(code, manage_token, *, now=None) -> Appointment``
    ``move(code, manage_token, new_start, *, now=None) -> Appointment``
    ``set_attendance(appointment_id, status, *, now=None) -> Appointment`` (staff: arrived / no_show)
    ``location_appointments(location_key, start, end) -> list[Appointment]`` (the office's calendar)
    ``staff_manage_token(code) -> (Appointment, manage_token)`` (staff acting for the citizen: Graph Bookings)
    ``expire_holds(*, now=None) -> int``

Availability (``availability.py``): ``staff_availability(location, staff, start, end, *, now=None)
-> dict[staff key, list[AvailabilityItem]]`` (available / busy within working time)

Codes (``codes.py``): ``normalize_code(code) -> str``

Against hoarding (``holds.py``): ``Client(session, address)`` (a ``BookingRequest``'s ``client``),
``proof_of_work_cost(*, now=None) -> int`` (the booking captcha's cost under load)

Retention and reminders (``retention.py``)
    ``erase_personal_data(*, now=None) -> int``; ``send_reminders(*, now=None) -> int``

Input arrives parsed by ``citizen_portal.booking.schemas`` (the contact data as ``schemas.Contact``).
Errors: ``Invalid(fields)``, ``NotFound``, ``Conflict(code="slot_taken", extra={"alternatives": [...]})``,
``Conflict(code="limit_reached", fields={"email": ...})``, ``Conflict(code="hold_limit", fields=...)``,
``Conflict(code="hold_expired" | "not_cancellable" | "not_movable" | "not_pending")``.
"""

# Imported in dependency order (engine, slots, codes, appointments, manage),
# not alphabetically: submodules import each other, never names from this ``__init__``; should one
# need to, this order keeps the names it uses defined before it runs (no import cycle).
from citizen_portal.booking.services.slot_engine import Slot, booking_settings, load_service, offered_location  # noqa: I001
from citizen_portal.booking.services.slots import (
    MAX_RANGE_DAYS,
    days_with_slots,
    find_slots,
    is_offered,
    list_services,
    slots_json,
)
from citizen_portal.booking.services.codes import normalize_code
from citizen_portal.booking.services.holds import Client, proof_of_work_cost
from citizen_portal.booking.services.appointments import (
    BookingRequest,
    BookingResult,
    book,
    confirm,
)
from citizen_portal.booking.services.manage import (
    cancel,
    changeable,
    expire_holds,
    get_by_token,
    location_appointments,
    move,
    set_attendance,
    staff_manage_token,
)
from citizen_portal.booking.services.retention import erase_personal_data, send_reminders
from citizen_portal.booking.services.availability import AvailabilityItem, staff_availability

__all__ = [
    "MAX_RANGE_DAYS",
    "AvailabilityItem",
    "BookingRequest",
    "BookingResult",
    "Client",
    "Slot",
    "book",
    "booking_settings",
    "cancel",
    "changeable",
    "confirm",
    "days_with_slots",
    "erase_personal_data",
    "expire_holds",
    "find_slots",
    "get_by_token",
    "is_offered",
    "list_services",
    "load_service",
    "location_appointments",
    "move",
    "normalize_code",
    "offered_location",
    "proof_of_work_cost",
    "send_reminders",
    "set_attendance",
    "slots_json",
    "staff_availability",
    "staff_manage_token",
]
