"""Graph calendar endpoints (``/graph/v1.0/users/{id}/...``): events, calendarView (+ delta) and
getSchedule of staff members and rooms, a thin adapter over ``calendars.view`` (reading),
``calendars.graph_events`` (a staff member's events) and ``spaces.services.rooms`` (a room's events
are its room bookings, with the room rules).

``{id}`` is a mailbox id or e-mail address (``citizen_portal.core.graph.find_mailbox``); every route
also answers under ``/me/...`` for the token's own mailbox. Event ids are URL-safe base64 of the
iCalendar UID (an occurrence: UID and its start), so they never contain ``/``."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import jsonify, request
from sqlalchemy import select

from citizen_portal.core import graph
from citizen_portal.core.access import has_role
from citizen_portal.core.database import utcnow, write_transaction
from citizen_portal.core.errors import Forbidden, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.graph import GraphCaller, Mailbox
from citizen_portal.core.i18n import _l, localized, site_timezone
from citizen_portal.core.schemas import parse
from staff_calendar.calendars import graph_events, view
from staff_calendar.calendars.models import GraphDeltaState
from staff_calendar.calendars.view import CalendarItem
from staff_calendar.graph_schemas import CancelInput, EventInput, ScheduleInput
from staff_calendar.spaces.models import Room, RoomBooking
from staff_calendar.spaces.services import rooms
from staff_calendar.spaces.services.common import Actor

bp = graph.graph_blueprint("graph_calendar", __name__)

LIST_PAST_DAYS, LIST_FUTURE_DAYS = 90, 365
DELTA_KEEP_DAYS = 7


def routes(*paths: str, methods: list[str]) -> Callable:
    """Register a view under ``/users/<ident>/...`` and ``/me/...`` (``ident=None``)."""

    def decorator(view_function: Callable) -> Callable:
        for path in paths:
            bp.add_url_rule(path, view_func=view_function, methods=methods,
                            endpoint=f"{view_function.__name__}:{path}")
            bp.add_url_rule(path.replace("/users/<ident>", "/me"), view_func=view_function, methods=methods,
                            defaults={"ident": None}, endpoint=f"{view_function.__name__}:me:{path}")
        return view_function

    return decorator


def _mailbox(caller: GraphCaller, ident: str | None) -> Mailbox:
    return graph.own_mailbox(caller) if ident is None else graph.find_mailbox(ident)


def _may_write(caller: GraphCaller, box: Mailbox) -> None:
    """A staff member writes into her own calendar, service admins and admins into every one; an API
    client with Calendars.ReadWrite into the staff calendars it sees. A room is booked by a person (the
    booking is hers; the room rules decide), never by an API client."""
    if caller.user is None:
        if box.kind == "room":
            raise Forbidden(_l("Räume bucht eine Person; ein API-Client kann keinen Raum buchen."))
        return
    if box.kind == "staff" and box.key != caller.username and not has_role(caller.user, "service_admin"):
        raise Forbidden(_l("Sie dürfen nur in Ihren eigenen Kalender schreiben."))


def _staff_calendar(box: Mailbox) -> str:
    if not box.calendar_key:
        raise Invalid(_l("Für dieses Postfach ist kein Kalender verbunden."), code="no_calendar")
    return box.calendar_key


# --------------------------------------------------------------------------- reading


def _room(box: Mailbox) -> Room:
    room = db.session.scalar(select(Room).where(Room.key == box.key))
    if room is None:
        raise NotFound()
    return room


def _room_booking_item(room: Room, booking: RoomBooking, organizer: str | None = None) -> CalendarItem:
    return CalendarItem(uid=rooms.room_event_uid(booking), start=booking.start_at, end=booking.end_at,
                        source="room", subject=booking.title, location=localized(room.name, room.key),
                        change_key=view.change_key(booking.uid, booking.start_at, booking.end_at, booking.title),
                        body=organizer)


def items_for(box: Mailbox, start: datetime, end: datetime) -> list[CalendarItem]:
    """Every event of the mailbox's calendar overlapping ``[start, end)``: a staff member's calendar
    (``view.calendar_items``), or a room's bookings plus the events of its own CalDAV calendar."""
    if box.kind == "staff":
        return view.calendar_items(box.calendar_key, start, end) if box.calendar_key else []
    room = _room(box)
    bookings = db.session.scalars(select(RoomBooking).where(
        RoomBooking.room_id == room.id, RoomBooking.start_at < end, RoomBooking.end_at > start)).all()
    items = [_room_booking_item(room, booking) for booking in bookings]
    if room.calendar_key:
        items += view.mirrored_items(room.calendar_key, start, end)
    return sorted(items, key=lambda item: (item.start, item.end, item.uid))


def _find(box: Mailbox, event_id: str) -> CalendarItem:
    text = graph.decode_id(event_id)
    uid, _, moment = text.partition("\n")
    occurrence = None
    if moment:
        try:
            occurrence = datetime.fromisoformat(moment)
        except ValueError:
            raise NotFound() from None
    if box.kind == "room":
        room = _room(box)
        for booking in db.session.scalars(select(RoomBooking).where(RoomBooking.room_id == room.id)):
            if rooms.room_event_uid(booking) == uid:
                return _room_booking_item(room, booking)
        item = view.find_item(room.calendar_key, uid, occurrence) if room.calendar_key else None
    else:
        item = view.find_item(box.calendar_key, uid, occurrence) if box.calendar_key else None
    if item is None:
        raise NotFound()
    return item


def event_id(item: CalendarItem) -> str:
    return graph.encode_id(item.uid if item.occurrence is None else f"{item.uid}\n{item.occurrence.isoformat()}")


def event_json(box: Mailbox, item: CalendarItem, zone_name: str, zone: ZoneInfo) -> dict[str, Any]:
    """The Graph ``event`` of an item (private events: busy time without subject, location or body)."""
    record = item.record
    location = {"displayName": item.location or "", "locationType": "default",
                "uniqueId": item.location or "", "uniqueIdType": "private"} if item.location else None
    created = record.created_at if record is not None else None
    modified = record.updated_at if record is not None else None
    body_text = "" if item.private else (record.body if record is not None else "")
    body_type = record.body_type if record is not None else "text"
    attendees = [] if record is None else [
        {"type": a.get("type", "required"), "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
         "emailAddress": {"address": a["address"], "name": a.get("name") or a["address"]}}
        for a in record.attendees or []]
    item_json: dict[str, Any] = {
        "@odata.etag": f'W/"{item.change_key}"',
        "id": event_id(item),
        "createdDateTime": graph.format_utc(created) if created else None,
        "lastModifiedDateTime": graph.format_utc(modified) if modified else None,
        "changeKey": item.change_key,
        "categories": item.categories,
        "transactionId": record.transaction_id if record is not None else None,
        "originalStartTimeZone": record.time_zone if record is not None else "UTC",
        "originalEndTimeZone": record.time_zone if record is not None else "UTC",
        "iCalUId": item.uid,
        "subject": None if item.private else (item.subject or ""),
        "bodyPreview": body_text[:255],
        "body": {"contentType": body_type, "content": body_text},
        "importance": record.importance if record is not None else "normal",
        "sensitivity": item.sensitivity,
        "isAllDay": item.all_day,
        "isCancelled": item.cancelled,
        "isOrganizer": item.source in ("graph", "platform", "room"),
        "isDraft": False,
        "isOnlineMeeting": False,
        "onlineMeetingProvider": "unknown",
        "hasAttachments": False,
        "showAs": "free" if item.cancelled else item.show_as,
        "type": "occurrence" if item.occurrence is not None else "singleInstance",
        "seriesMasterId": graph.encode_id(item.uid) if item.occurrence is not None else None,
        "start": graph.format_moment(item.start, zone_name, zone),
        "end": graph.format_moment(item.end, zone_name, zone),
        "location": location or {"displayName": "", "locationType": "default"},
        "locations": [location] if location else [],
        "attendees": attendees,
        "organizer": {"emailAddress": {"name": box.display_name, "address": box.mail}},
        "webLink": None,
    }
    if item.private:
        item_json["location"] = {"displayName": "", "locationType": "default"}
        item_json["locations"] = []
        item_json["attendees"] = []
    return item_json


def _context(box: Mailbox, name: str) -> str:
    return f"users('{box.mail}')/{name}"


@routes("/users/<ident>/calendarView", "/users/<ident>/calendar/calendarView", methods=["GET"])
def calendar_view(ident: str | None):
    return _event_page(ident, "calendarView", lambda: graph.query_range())


def _event_page(ident: str | None, name: str, window: Callable[[], tuple[datetime, datetime]]):
    """A page of the mailbox's events in ``window()`` (``$top``, ``$select``, ``$orderby=start/dateTime``)."""
    caller = graph.authorize_graph("Calendars.Read")
    graph.reject_unsupported_options()
    _check_orderby()
    box = _mailbox(caller, ident)
    start, end = window()
    zone_name, zone = graph.preferred_timezone()
    items = [event_json(box, item, zone_name, zone) for item in items_for(box, start, end)]
    return graph.collection(items, context=_context(box, name), fields=graph.select_fields())


def _check_orderby() -> None:
    order = request.args.get("$orderby")
    if order is not None and order.replace(" asc", "").strip() != "start/dateTime":
        raise Invalid(_l("Sortiert werden kann nur nach start/dateTime."), code="unsupported_query_option")


@routes("/users/<ident>/events", "/users/<ident>/calendar/events", methods=["GET"])
def list_events(ident: str | None):
    """The mailbox's events from 90 days ago to a year ahead (occurrences expanded)."""
    now = utcnow()
    return _event_page(ident, "events",
                       lambda: (now - timedelta(days=LIST_PAST_DAYS), now + timedelta(days=LIST_FUTURE_DAYS)))


@routes("/users/<ident>/events/<event_id>", "/users/<ident>/calendar/events/<event_id>", methods=["GET"])
def get_event(ident: str | None, event_id: str):
    caller = graph.authorize_graph("Calendars.Read")
    box = _mailbox(caller, ident)
    zone_name, zone = graph.preferred_timezone()
    body = {"@odata.context": f"{graph.PREFIX}/$metadata#{_context(box, 'events')}/$entity",
            **event_json(box, _find(box, event_id), zone_name, zone)}
    return jsonify(graph.selected(body, graph.select_fields()))


# --------------------------------------------------------------------------- writing


def _fields(data: EventInput) -> graph_events.EventFields:
    values = graph_events.EventFields(sent=data.sent())
    if data.subject is not None:
        values.subject = data.subject
    if data.body is not None:
        values.body_type = "html" if data.body.content_type.lower() == "html" else "text"
        values.body = data.body.content
    if data.location is not None:
        values.location = data.location.display_name or None
    if data.attendees is not None:
        values.attendees = [{"type": a.type, "address": a.email_address.address, "name": a.email_address.name}
                            for a in data.attendees]
    if data.categories is not None:
        values.categories = [c[:100] for c in data.categories]
    values.show_as = data.show_as or "busy"
    values.sensitivity = data.sensitivity or "normal"
    values.importance = data.importance or "normal"
    if data.start is not None:
        values.start = graph.parse_moment({"dateTime": data.start.date_time, "timeZone": data.start.time_zone},
                                          "start")
        values.time_zone = data.start.time_zone
    if data.end is not None:
        values.end = graph.parse_moment({"dateTime": data.end.date_time, "timeZone": data.end.time_zone}, "end")
    values.transaction_id = data.transaction_id
    if data.is_all_day:
        raise Invalid(fields={"isAllDay": _l("Ganztägige Termine werden hier nicht unterstützt.")})
    if data.recurrence is not None:
        raise Invalid(fields={"recurrence": _l("Serientermine können hier nicht angelegt werden.")})
    return values


def _owner(box: Mailbox) -> str:
    return box.key


@routes("/users/<ident>/events", "/users/<ident>/calendar/events", methods=["POST"])
def create_event(ident: str | None):
    caller = graph.authorize_graph("Calendars.ReadWrite")
    box = _mailbox(caller, ident)
    _may_write(caller, box)
    data = parse(EventInput, graph.json_body())
    values = _fields(data)
    zone_name, zone = graph.preferred_timezone()
    if box.kind == "room":
        item = _book_room(caller, box, values)
    else:
        event, _new = graph_events.create_event(_owner(box), _staff_calendar(box), values)
        item = view.graph_item(event)
    return graph.created({"@odata.context": f"{graph.PREFIX}/$metadata#{_context(box, 'events')}/$entity",
                          **event_json(box, item, zone_name, zone)})


def _book_room(caller: GraphCaller, box: Mailbox, values: graph_events.EventFields) -> CalendarItem:
    """A room event is a room booking (hours, grid, capacity, no overlap: ``rooms.book_room``); the
    number of attendees is the attendees sent (at least 1)."""
    if values.start is None or values.end is None:
        raise Invalid(fields={"start": _l("Bitte geben Sie Beginn und Ende an.")})
    attendees = max(1, len([a for a in values.attendees if a.get("type") != "resource"]))
    booking = rooms.book_room(Actor.of(caller.user), box.key, values.start, values.end,
                              values.subject or "Termin", attendees)
    return _room_booking_item(_room(box), booking)


@routes("/users/<ident>/events/<event_id>", "/users/<ident>/calendar/events/<event_id>", methods=["PATCH"])
def update_event(ident: str | None, event_id: str):
    caller = graph.authorize_graph("Calendars.ReadWrite")
    box = _mailbox(caller, ident)
    _may_write(caller, box)
    item = _writable(box, event_id)
    values = _fields(parse(EventInput, graph.json_body()))
    event = graph_events.update_event(_owner(box), box.calendar_key or "", item.uid, values,
                                      if_match=request.headers.get("If-Match"))
    zone_name, zone = graph.preferred_timezone()
    return jsonify(event_json(box, view.graph_item(event), zone_name, zone))


def _writable(box: Mailbox, event_id: str) -> CalendarItem:
    item = _find(box, event_id)
    if item.source != "graph":
        raise Forbidden(_l("Dieser Termin wurde nicht über diese Schnittstelle angelegt und kann hier nur "
                           "gelesen werden."))
    return item


@routes("/users/<ident>/events/<event_id>", "/users/<ident>/calendar/events/<event_id>", methods=["DELETE"])
def delete_event(ident: str | None, event_id: str):
    caller = graph.authorize_graph("Calendars.ReadWrite")
    box = _mailbox(caller, ident)
    _may_write(caller, box)
    item = _find(box, event_id)
    if item.source == "room":
        booking = _room_booking(box, item.uid)
        rooms.cancel_room_booking(Actor.of(caller.user), booking.id)
        return graph.no_content()
    item = _writable(box, event_id)
    graph_events.delete_event(_owner(box), box.calendar_key or "", item.uid,
                              if_match=request.headers.get("If-Match"))
    return graph.no_content()


def _room_booking(box: Mailbox, uid: str) -> RoomBooking:
    room = _room(box)
    for booking in db.session.scalars(select(RoomBooking).where(RoomBooking.room_id == room.id)):
        if rooms.room_event_uid(booking) == uid:
            return booking
    raise NotFound()


@routes("/users/<ident>/events/<event_id>/cancel", "/users/<ident>/calendar/events/<event_id>/cancel",
        methods=["POST"])
def cancel_event(ident: str | None, event_id: str):
    caller = graph.authorize_graph("Calendars.ReadWrite")
    box = _mailbox(caller, ident)
    _may_write(caller, box)
    parse(CancelInput, request.get_json(silent=True) or {})
    item = _find(box, event_id)
    if item.source == "room":
        rooms.cancel_room_booking(Actor.of(caller.user), _room_booking(box, item.uid).id)
    else:
        graph_events.cancel_event(_owner(box), box.calendar_key or "", _writable(box, event_id).uid)
    return graph.accepted()


# --------------------------------------------------------------------------- delta


@routes("/users/<ident>/calendarView/delta", "/users/<ident>/calendarView/delta()",
        "/users/<ident>/calendar/calendarView/delta", "/users/<ident>/calendar/calendarView/delta()",
        methods=["GET"])
def calendar_view_delta(ident: str | None):
    """A delta round: the first call (``startDateTime``/``endDateTime``) returns every event of the range;
    the ``@odata.deltaLink`` (``$deltatoken``) then returns what changed since (changed events in full,
    removed ones as ``{"id", "@removed": {"reason": "deleted"}}``). One page per round."""
    caller = graph.authorize_graph("Calendars.Read")
    box = _mailbox(caller, ident)
    zone_name, zone = graph.preferred_timezone()
    token = request.args.get("$deltatoken")
    seen: dict[str, str] = {}
    if token:
        state = db.session.get(GraphDeltaState, token)
        if state is None or state.mailbox_id != box.id:
            error = Invalid(_l("Dieses Delta-Token ist unbekannt oder abgelaufen; bitte neu synchronisieren."),
                            code="syncStateNotFound")
            error.status = 410
            raise error
        start, end, seen = state.window_start, state.window_end, dict(state.seen)
    else:
        start, end = graph.query_range()
    items = items_for(box, start, end)
    current = {event_id(item): item.change_key for item in items}
    value = [event_json(box, item, zone_name, zone) for item in items
             if seen.get(event_id(item)) != item.change_key]
    value += [{"id": gone, "@removed": {"reason": "deleted"}} for gone in seen if gone not in current]
    new_token = secrets.token_urlsafe(24)
    with write_transaction():
        db.session.add(GraphDeltaState(token=new_token, mailbox_id=box.id, window_start=start, window_end=end,
                                       seen=current, created_at=utcnow()))
        db.session.execute(GraphDeltaState.__table__.delete().where(
            GraphDeltaState.created_at < utcnow() - timedelta(days=DELTA_KEEP_DAYS)))
    link = graph.absolute_link({"$deltatoken": new_token}, drop=("startDateTime", "endDateTime", "$deltatoken"),
                               path=request.path.replace("delta()", "delta"))
    return jsonify({"@odata.context": f"{graph.PREFIX}/$metadata#Collection(event)", "value": value,
                    "@odata.deltaLink": link})


# --------------------------------------------------------------------------- getSchedule

STATUS_DIGIT = {"free": "0", "workingElsewhere": "0", "tentative": "1", "busy": "2", "oof": "3", "unknown": "2"}
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@routes("/users/<ident>/calendar/getSchedule", methods=["POST"])
def get_schedule(ident: str | None):
    """Free/busy of several mailboxes: ``availabilityView`` (one digit per interval: 0 free, 1 tentative,
    2 busy, 3 out of office), ``scheduleItems`` (private ones without subject) and ``workingHours``."""
    caller = graph.authorize_graph("Calendars.Read")
    _mailbox(caller, ident)
    data = parse(ScheduleInput, graph.lower_keys(graph.json_body()))
    start = graph.parse_moment(data.starttime, "startTime")
    end = graph.parse_moment(data.endtime, "endTime")
    if end <= start or end - start > timedelta(days=62):
        raise Invalid(fields={"endTime": _l("Das Ende muss nach dem Beginn und höchstens 62 Tage danach liegen.")})
    interval = graph.as_int(data.availabilityviewinterval, "availabilityViewInterval", default=30, low=5, high=1440)
    zone_name, zone = graph.preferred_timezone()
    value = []
    for address in data.schedules:
        try:
            box = graph.find_mailbox(address)
        except NotFound:
            value.append({"scheduleId": address, "availabilityView": "", "scheduleItems": [],
                          "error": {"message": str(_l("Dieses Postfach gibt es hier nicht.")),
                                    "responseCode": "ErrorMailRecipientNotFound"}})
            continue
        items = [item for item in items_for(box, start, end) if item.blocks]
        value.append({"scheduleId": address, "availabilityView": _availability(items, start, end, interval),
                      "scheduleItems": [_schedule_item(item, zone_name, zone) for item in items],
                      "workingHours": _working_hours(box)})
    return jsonify({"@odata.context": f"{graph.PREFIX}/$metadata#Collection(microsoft.graph.scheduleInformation)",
                    "value": value})


def _availability(items: list[CalendarItem], start: datetime, end: datetime, interval: int) -> str:
    digits = []
    step = timedelta(minutes=interval)
    moment = start
    while moment < end:
        stop = min(moment + step, end)
        overlapping = [STATUS_DIGIT.get(i.show_as, "2") for i in items if i.start < stop and i.end > moment]
        digits.append(max(overlapping, default="0"))
        moment = stop
    return "".join(digits)


def _schedule_item(item: CalendarItem, zone_name: str, zone: ZoneInfo) -> dict[str, Any]:
    return {"isPrivate": item.private, "status": item.show_as,
            "subject": "" if item.private else (item.subject or ""),
            "location": "" if item.private else (item.location or ""),
            "start": graph.format_moment(item.start, zone_name, zone),
            "end": graph.format_moment(item.end, zone_name, zone)}


def _working_hours(box: Mailbox) -> dict[str, Any]:
    """The mailbox's working days and the earliest start and latest end among them, in the site zone."""
    days = [(day, ranges) for day, ranges in (box.working_hours or {}).items() if ranges and day in DAY_KEYS]
    starts = [r.split("-")[0] for _, ranges in days for r in ranges]
    ends = [r.split("-")[1] for _, ranges in days for r in ranges]
    return {"daysOfWeek": [graph.WEEKDAY_NAMES[DAY_KEYS.index(day)] for day in DAY_KEYS if day in dict(days)],
            "startTime": f"{min(starts, default='00:00')}:00.0000000",
            "endTime": f"{max(ends, default='00:00')}:00.0000000",
            "timeZone": {"name": site_timezone().key}}
