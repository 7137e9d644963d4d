"""The staff member's calendar event of an appointment, written through the outbox of
``staff_calendar.services`` (``schedule_event`` / ``schedule_event_removal``, in the caller's open
transaction; the worker delivers it after the commit).

Rules:

- UID ``appointment_uid``: ``event_uid("appointment", <random calendar_uid>)``, the same event across
  moves; appointments from before the random part existed keep ``appointment-<id>@…``; staff members
  without a calendar get none.
- Summary "<service name> – <code>" (German service name); the description is what
  ``settings["booking"]["event_details"]`` allows: "service_and_code" (default: nothing personal),
  "with_name" (+ citizen's name) or "full" (+ email, phone, note).
"""

from __future__ import annotations

from citizen_portal.booking.models import Appointment, StaffMember
from citizen_portal.booking.services.slot_engine import booking_settings
from staff_calendar import services as calendar_services


def appointment_uid(appointment: Appointment) -> str:
    """The UID of the appointment's event (staff calendar and the citizen's iTIP mail alike): random,
    stable for the appointment's life; the old ``appointment-<id>`` form only for old rows."""
    return calendar_services.event_uid("appointment", appointment.calendar_uid or appointment.id)


def event_summary(appointment: Appointment) -> str:
    """Summary of the staff calendar event: "<service name> – <code>" (German service name)."""
    name = appointment.service.name.get("de") or next(iter(appointment.service.name.values()), "")
    return f"{name} – {appointment.code}"


def event_description(appointment: Appointment) -> str | None:
    """What the staff event may carry beyond the summary: ``BookingSettings.event_details``
    "service_and_code" (default: nothing personal), "with_name" (+ citizen's name) or "full"
    (+ email, phone, note)."""
    details = booking_settings().event_details
    if details == "with_name":
        return appointment.name
    if details == "full":
        lines = [appointment.name, appointment.email, appointment.phone, appointment.note]
        return "\n".join(line for line in lines if line) or None
    return None


def schedule_calendar_event(appointment: Appointment) -> None:
    """Queue create-or-update of the event in the assigned staff member's calendar (if any)."""
    staff = appointment.staff
    if not staff.calendar_key:
        return
    calendar_services.schedule_event(
        calendar_key=staff.calendar_key,
        uid=appointment_uid(appointment),
        summary=event_summary(appointment),
        start=appointment.start_at,
        end=appointment.end_at,
        location=appointment.location.address or None,
        description=event_description(appointment),
    )


def remove_calendar_event(appointment: Appointment, staff: StaffMember) -> None:
    """Queue the removal of the event from ``staff``'s calendar (if any)."""
    if staff.calendar_key:
        calendar_services.schedule_event_removal(
            calendar_key=staff.calendar_key, uid=appointment_uid(appointment)
        )
