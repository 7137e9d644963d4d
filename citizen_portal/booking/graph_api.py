"""Graph endpoints of appointment booking: staff members as Graph users (their calendars are served by
``staff_calendar/graph_api.py``) and the Microsoft Bookings subset (``/solutions/bookingBusinesses``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, jsonify, request
from sqlalchemy import select

from citizen_portal.booking import schemas, services
from citizen_portal.booking.graph_schemas import AppointmentInput, CancelInput, StaffAvailabilityInput
from citizen_portal.booking.models import Appointment, Location, Service, StaffMember
from citizen_portal.core import graph
from citizen_portal.core.errors import Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, current_language, localized, site_timezone
from citizen_portal.core.schemas import parse

LIST_DAYS = 365

bp = graph.graph_blueprint("graph_booking", __name__)


def staff_mailboxes() -> list[graph.Mailbox]:
    """Active staff members: id ``staff-<key>``, their e-mail address (or ``<key>@<PORTAL_EVENT_UID_DOMAIN>``),
    their calendar and working hours (their own, else the opening hours of their first location)."""
    domain = current_app.config["EVENT_UID_DOMAIN"]
    boxes = []
    for staff in db.session.scalars(select(StaffMember).where(StaffMember.active.is_(True))):
        hours = staff.working_hours or next((loc.opening_hours for loc in staff.locations if loc.opening_hours), {})
        boxes.append(graph.Mailbox(id=f"staff-{staff.key}", kind="staff", key=staff.key, display_name=staff.name,
                                   mail=staff.email or f"{staff.key}@{domain}", calendar_key=staff.calendar_key,
                                   working_hours=dict(hours or {})))
    return boxes


bp.record_once(lambda state: graph.register_mailboxes(state.app, staff_mailboxes))


# --------------------------------------------------------------------------- Microsoft Bookings subset

BUSINESS = "/solutions/bookingBusinesses"
DAY_NAMES = {"mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday", "fri": "friday",
             "sat": "saturday", "sun": "sunday"}


def _visible(location: Location) -> bool:
    """An API client restricted to locations sees only those."""
    caller = graph.current_caller()
    return caller is None or caller.principal.sees_location(location.id)


def _sees_staff(staff: StaffMember) -> bool:
    """An API client restricted to staff members sees only their appointments and availability."""
    caller = graph.current_caller()
    return caller is None or caller.principal.sees_staff(staff.key)


def _location(business_id: str) -> Location:
    location = db.session.scalar(select(Location).where(Location.key == business_id, Location.active.is_(True)))
    if location is None or not _visible(location):
        raise NotFound(_l("Diesen Standort gibt es nicht."))
    return location


def _business_hours(hours: dict[str, list[str]] | None) -> list[dict[str, Any]]:
    return [{"day": DAY_NAMES[day], "timeSlots": [{"startTime": f"{r.split('-')[0]}:00.0000000",
                                                    "endTime": f"{r.split('-')[1]}:00.0000000"} for r in ranges]}
            for day, ranges in (hours or {}).items() if day in DAY_NAMES and ranges]


def business_json(location: Location) -> dict[str, Any]:
    return {"id": location.key, "displayName": localized(location.name, location.key), "businessType": "Behörde",
            "email": None, "phone": None, "webSiteUrl": current_app.config["BASE_URL"], "isPublished": True,
            "publicUrl": f"{current_app.config['BASE_URL']}/termine", "defaultCurrencyIso": "EUR",
            "address": {"street": location.address, "city": None, "postalCode": None, "state": None,
                        "countryOrRegion": "DE"},
            "businessHours": _business_hours(location.opening_hours)}


def _minutes(value: int) -> str:
    return f"PT{value // 60}H{value % 60}M" if value >= 60 else f"PT{value}M"


def service_json(service: Service, location: Location) -> dict[str, Any]:
    staff = [f"staff-{s.key}" for s in _location_staff(location) if service in s.services]
    return {"id": service.key, "displayName": localized(service.name, service.key),
            "description": localized(service.description), "defaultDuration": _minutes(service.duration_minutes),
            "preBuffer": "PT0S", "postBuffer": _minutes(service.buffer_minutes) if service.buffer_minutes else "PT0S",
            "isHiddenFromCustomers": False, "isLocationOnline": False, "staffMemberIds": staff,
            "schedulingPolicy": {"minimumLeadTime": _minutes(service.min_lead_hours * 60),
                                 "maximumAdvance": f"P{service.horizon_days}D", "timeSlotInterval": None,
                                 "allowStaffSelection": False, "sendConfirmationsToOwner": False}}


def _location_staff(location: Location) -> list[StaffMember]:
    return [s for s in db.session.scalars(select(StaffMember).where(StaffMember.active.is_(True))
                                          .order_by(StaffMember.key)) if location in s.locations and _sees_staff(s)]


def staff_member_json(staff: StaffMember, location: Location) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.bookingStaffMember", "id": f"staff-{staff.key}",
            "displayName": staff.name, "emailAddress": staff.email, "role": "staffMember",
            "useBusinessHours": not staff.working_hours, "availabilityIsAffectedByPersonalCalendar": True,
            "timeZone": site_timezone().key,
            "workingHours": _business_hours(staff.working_hours or location.opening_hours)}


def appointment_json(appointment: Appointment, zone_name: str, zone: ZoneInfo) -> dict[str, Any]:
    erased = appointment.erased_at is not None
    return {
        "id": appointment.code, "serviceId": appointment.service.key,
        "serviceName": localized(appointment.service.name, appointment.service.key),
        "startDateTime": graph.format_moment(appointment.start_at, zone_name, zone),
        "endDateTime": graph.format_moment(appointment.end_at, zone_name, zone),
        "duration": _minutes(int((appointment.end_at - appointment.start_at).total_seconds() // 60)),
        "staffMemberIds": [f"staff-{appointment.staff.key}"],
        "customerTimeZone": site_timezone().key, "isLocationOnline": False,
        "serviceLocation": {"displayName": localized(appointment.location.name, appointment.location.key),
                            "address": {"street": appointment.location.address}},
        "customers": [] if erased else [{"@odata.type": "#microsoft.graph.bookingCustomerInformation",
                                          "name": appointment.name, "emailAddress": appointment.email,
                                          "phone": appointment.phone, "notes": appointment.note}],
        "additionalInformation": "",
        "selfServiceAppointmentId": appointment.code,
        "municipal.status": appointment.status,
    }


def _appointments_target(caller: graph.GraphCaller, groups: dict[str, str]) -> graph.SubscriptionTarget:
    """Change notifications of an office's appointments (a client restricted to staff members: theirs)."""
    location = _location(groups["business"])
    staff = caller.principal.staff_usernames
    topics = ([f"business:{location.key}"] if staff is None
              else [f"business:{location.key}:staff:{key}" for key in sorted(staff)])
    return graph.SubscriptionTarget(topics, f"solutions/bookingBusinesses/{location.key}/appointments",
                                    "#microsoft.graph.bookingAppointment")


bp.record_once(lambda state: graph.register_subscription_resource(state.app, graph.SubscriptionResource(
    "appointments", r"solutions/bookingBusinesses/(?P<business>[^/]+)/appointments", "Bookings.Read.All",
    _appointments_target)))


@bp.get(BUSINESS)
def list_businesses():
    graph.authorize_graph("Bookings.Read.All")
    graph.reject_unsupported_options()
    locations = db.session.scalars(select(Location).where(Location.active.is_(True)).order_by(Location.key)).all()
    return graph.collection([business_json(loc) for loc in locations if _visible(loc)],
                            context="solutions/bookingBusinesses", default_top=100, fields=graph.select_fields())


@bp.get(f"{BUSINESS}/<business_id>")
def get_business(business_id: str):
    graph.authorize_graph("Bookings.Read.All")
    return jsonify(graph.selected(business_json(_location(business_id)), graph.select_fields()))


@bp.get(f"{BUSINESS}/<business_id>/services")
def list_business_services(business_id: str):
    graph.authorize_graph("Bookings.Read.All")
    location = _location(business_id)
    items = [service_json(s, location) for s in services.list_services() if location in s.locations]
    return graph.collection(items, context="bookingServices", default_top=100, fields=graph.select_fields())


@bp.get(f"{BUSINESS}/<business_id>/services/<service_id>")
def get_business_service(business_id: str, service_id: str):
    graph.authorize_graph("Bookings.Read.All")
    location = _location(business_id)
    service = services.load_service(service_id)
    services.offered_location(service, location.key)  # NotFound unless offered here
    return jsonify(service_json(service, location))


@bp.get(f"{BUSINESS}/<business_id>/staffMembers")
def list_business_staff(business_id: str):
    graph.authorize_graph("Bookings.Read.All")
    location = _location(business_id)
    return graph.collection([staff_member_json(s, location) for s in _location_staff(location)],
                            context="bookingStaffMembers", default_top=100, fields=graph.select_fields())


def _range_or_default() -> tuple[datetime, datetime]:
    if "startDateTime" in request.args or "endDateTime" in request.args:
        return graph.query_range()
    now = datetime.now(UTC)
    return now - timedelta(days=1), now + timedelta(days=LIST_DAYS)


@bp.get(f"{BUSINESS}/<business_id>/appointments")
@bp.get(f"{BUSINESS}/<business_id>/calendarView")
def list_appointments(business_id: str):
    """The office's appointments (cancelled ones too): ``calendarView`` in the range asked for,
    ``appointments`` from yesterday to a year ahead unless a range is given."""
    graph.authorize_graph("Bookings.Read.All")
    graph.reject_unsupported_options()
    location = _location(business_id)
    start, end = graph.query_range() if request.path.endswith("calendarView") else _range_or_default()
    zone_name, zone = graph.preferred_timezone()
    items = [appointment_json(a, zone_name, zone) for a in services.location_appointments(location.key, start, end)
             if _sees_staff(a.staff)]
    return graph.collection(items, context="bookingAppointments", fields=graph.select_fields())


def _appointment(location: Location, appointment_id: str) -> Appointment:
    appointment, _token = services.staff_manage_token(appointment_id)
    if appointment.location_id != location.id or not _sees_staff(appointment.staff):
        raise NotFound()
    return appointment


@bp.get(f"{BUSINESS}/<business_id>/appointments/<appointment_id>")
def get_appointment(business_id: str, appointment_id: str):
    graph.authorize_graph("Bookings.Read.All")
    zone_name, zone = graph.preferred_timezone()
    return jsonify(appointment_json(_appointment(_location(business_id), appointment_id), zone_name, zone))


def _contact(data: AppointmentInput) -> schemas.Contact:
    customer = data.customers[0] if data.customers else None
    values = {"name": (customer.name if customer else None) or data.customer_name,
              "email": (customer.email_address if customer else None) or data.customer_email_address,
              "phone": (customer.phone if customer else None) or data.customer_phone,
              "note": (customer.notes if customer else None) or data.customer_notes,
              "privacy_consent": True}  # the office books for the citizen and informs them
    return parse(schemas.Contact, {key: value for key, value in values.items() if value not in (None, "")})


@bp.post(f"{BUSINESS}/<business_id>/appointments")
def create_appointment(business_id: str):
    """Book through the web form's service (``services.book``: grid, lead time, horizon, free staff,
    per-address limit, race safety, confirmation mail and staff calendar event). A taken time is 409
    ``ErrorConflict`` with the platform's ``slot_taken`` in ``innerError``."""
    graph.authorize_graph("Bookings.ReadWrite.All")
    location = _location(business_id)
    data = parse(AppointmentInput, graph.json_body())
    if not data.service_id:
        raise Invalid(fields={"serviceId": _l("Bitte geben Sie die Leistung an.")})
    if data.start_date_time is None:
        raise Invalid(fields={"startDateTime": _l("Bitte geben Sie den Beginn an.")})
    start = graph.parse_moment(data.start_date_time, "startDateTime")
    result = services.book(services.BookingRequest(data.service_id, location.key, start, _contact(data),
                                                   language=current_language()))
    zone_name, zone = graph.preferred_timezone()
    return graph.created(appointment_json(result.appointment, zone_name, zone))


@bp.patch(f"{BUSINESS}/<business_id>/appointments/<appointment_id>")
def update_appointment(business_id: str, appointment_id: str):
    """Move to another start (``services.move``, the citizen's rules); other properties cannot change here."""
    graph.authorize_graph("Bookings.ReadWrite.All")
    location = _location(business_id)
    data = parse(AppointmentInput, graph.json_body())
    appointment = _appointment(location, appointment_id)
    if data.start_date_time is not None:
        _appointment_row, token = services.staff_manage_token(appointment.code)
        appointment = services.move(appointment.code, token, graph.parse_moment(data.start_date_time,
                                                                                 "startDateTime"))
    zone_name, zone = graph.preferred_timezone()
    return jsonify(appointment_json(appointment, zone_name, zone))


@bp.post(f"{BUSINESS}/<business_id>/appointments/<appointment_id>/cancel")
def cancel_appointment(business_id: str, appointment_id: str):
    """Cancel as the citizen could (``services.cancel``: the cancellation mail, the calendar event removed)."""
    graph.authorize_graph("Bookings.ReadWrite.All")
    parse(CancelInput, request.get_json(silent=True) or {})
    appointment = _appointment(_location(business_id), appointment_id)
    _row, token = services.staff_manage_token(appointment.code)
    services.cancel(appointment.code, token)
    return graph.no_content()


@bp.delete(f"{BUSINESS}/<business_id>/appointments/<appointment_id>")
def delete_appointment(business_id: str, appointment_id: str):
    return cancel_appointment(business_id, appointment_id)


@bp.get(f"{BUSINESS}/<business_id>/services/<service_id>/municipal.freeSlots")
def free_slots(business_id: str, service_id: str):
    """Extension (not in Microsoft Graph): the bookable times of a service at this office between
    ``startDateTime`` and ``endDateTime`` (at most 31 days), exactly what the web form offers."""
    graph.authorize_graph("Bookings.Read.All")
    location = _location(business_id)
    start, end = graph.query_range()
    zone_name, zone = graph.preferred_timezone()
    site = site_timezone()
    first, last = start.astimezone(site).date(), (end - timedelta(microseconds=1)).astimezone(site).date()
    if (last - first).days > 31:
        raise Invalid(fields={"endDateTime": _l("Höchstens 31 Tage auf einmal.")})
    slots = [slot for slot in services.find_slots(service_id, first, last, location_key=location.key)
             if start <= slot.start and slot.end <= end]
    items = [{"startDateTime": graph.format_moment(slot.start, zone_name, zone),
              "endDateTime": graph.format_moment(slot.end, zone_name, zone), "serviceId": service_id}
             for slot in slots]
    return graph.collection(items, context="municipal.freeSlots", default_top=100)


@bp.post(f"{BUSINESS}/<business_id>/getStaffAvailability")
def get_staff_availability(business_id: str):
    """Per staff member of the office: ``available`` and ``busy`` items in her working time
    (``services.staff_availability``), at most 31 days."""
    graph.authorize_graph("Bookings.Read.All")
    location = _location(business_id)
    data = parse(StaffAvailabilityInput, graph.lower_keys(graph.json_body()))
    start = graph.parse_moment(data.startdatetime, "startDateTime")
    end = graph.parse_moment(data.enddatetime, "endDateTime")
    if end <= start or end - start > timedelta(days=31):
        raise Invalid(fields={"endDateTime": _l("Höchstens 31 Tage auf einmal.")})
    members = {f"staff-{s.key}": s for s in _location_staff(location)}
    unknown = [ident for ident in data.staffids if ident not in members]
    if unknown:
        raise Invalid(fields={"staffIds": _l("Unbekannte Mitarbeitende: %(ids)s", ids=", ".join(unknown)[:200])})
    wanted = [members[ident] for ident in data.staffids]
    found = services.staff_availability(location, wanted, start, end)
    zone_name, zone = graph.preferred_timezone()
    return jsonify({"@odata.context": f"{graph.PREFIX}/$metadata#Collection(microsoft.graph.staffAvailabilityItem)",
                    "value": [{"staffId": f"staff-{member.key}", "availabilityItems": [
                        {"status": item.status, "serviceId": "",
                         "startDateTime": graph.format_moment(item.start, zone_name, zone),
                         "endDateTime": graph.format_moment(item.end, zone_name, zone)}
                        for item in found[member.key]]} for member in wanted]})
