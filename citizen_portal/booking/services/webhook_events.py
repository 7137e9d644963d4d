"""The appointment events other software can subscribe to (signed webhooks, ``citizen_portal.core.webhooks``).

Rules: an event is emitted inside the transaction of the change (``appointment.booked`` when an
appointment becomes confirmed: at booking, or when a hold is confirmed; ``moved`` / ``cancelled`` for a
confirmed one; ``arrived`` / ``no_show`` when staff mark it). The payload has ids, keys and times only;
the citizen's name, e-mail and phone go only to clients holding ``appointments.write`` (software that
books for citizens handles their contact data anyway). Restricted clients get only their locations' /
staff members' events. The same change is a Graph change notification of the office's appointments
(``core.webhooks.graph``)."""

from __future__ import annotations

from citizen_portal.booking.models import Appointment
from citizen_portal.core.i18n import _l
from citizen_portal.core.webhooks import EventType, emit_event, iso
from citizen_portal.core.webhooks.graph import notify_graph_change

READ, PERSONAL = "appointments.read", "appointments.write"

EVENT_TYPES = (
    EventType("appointment.booked", READ, _l("Ein Termin wurde gebucht (bestätigt)."), PERSONAL),
    EventType("appointment.moved", READ, _l("Ein Termin wurde verschoben."), PERSONAL),
    EventType("appointment.cancelled", READ, _l("Ein Termin wurde abgesagt."), PERSONAL),
    EventType("appointment.arrived", READ, _l("Die Person ist zum Termin erschienen."), PERSONAL),
    EventType("appointment.no_show", READ, _l("Die Person ist nicht zum Termin erschienen."), PERSONAL),
)


# Graph change notifications of the Bookings appointments (a cancelled appointment is gone, as in
# Microsoft Bookings; here it stays readable with ``municipal.status`` "cancelled")
GRAPH_CHANGE = {"appointment.booked": "created", "appointment.cancelled": "deleted"}


def emit_appointment_event(type_: str, appointment: Appointment) -> None:
    """Queue ``type_`` for ``appointment`` in the caller's open write transaction."""
    data = {"id": appointment.id, "code": appointment.code, "status": appointment.status,
            "service": appointment.service.key, "location": appointment.location.key,
            "staff": appointment.staff.key, "start": iso(appointment.start_at), "end": iso(appointment.end_at)}
    personal = {"name": appointment.name, "email": appointment.email, "phone": appointment.phone}
    emit_event(type_, data, personal=personal, location_id=appointment.location_id,
               staff_username=appointment.staff.key)
    business = f"business:{appointment.location.key}"
    notify_graph_change([business, f"{business}:staff:{appointment.staff.key}"], appointment.code,
                        GRAPH_CHANGE.get(type_, "updated"))
