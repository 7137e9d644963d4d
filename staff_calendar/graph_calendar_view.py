"""Reading the Graph calendars of staff members and rooms: which mailbox (``mailbox_for``), its events
(``items_for``, ``find_event``) as Graph ``event`` objects (``event_json``), event pages, calendarView,
calendarView/delta and getSchedule. A thin adapter over ``calendars.view`` (a staff member's calendar)
and the room bookings of ``spaces``.

The views here are noted with ``route`` and registered on the one Graph calendar blueprint by
``staff_calendar.graph_api`` (which only ``create_app`` imports); like every route there, each also answers
under ``/me/...`` for the token's own mailbox. Event ids are URL-safe base64 of the iCalendar UID (an
occurrence: UID and its start), so they never contain ``/``."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import jsonify, request
from sqlalchemy import select

from citizen_portal.core import graph
from citizen_portal.core.database import utcnow, write_transaction
from citizen_portal.core.errors import Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.graph import GraphCaller, Mailbox
from citizen_portal.core.i18n import _l, localized, site_timezone
from citizen_portal.core.schemas import parse
from staff_calendar.calendars import view
from staff_calendar.calendars.models import GraphDeltaState
from staff_calendar.calendars.view import CalendarItem
from staff_calendar.graph_schemas import ScheduleInput
from staff_calendar.spaces.models import Room, RoomBooking
from staff_calendar.spaces.services import public_requests, rooms
from staff_calendar.spaces.services.public_busy import holding_uses, public_label

DELTA_KEEP_DAYS = 7

# the views of this module: (paths, methods, view), registered by ``graph_api.routes``
VIEWS: list[tuple[tuple[str, ...], list[str], Callable]] = []


def route(*paths: str, methods: list[str]) -> Callable:
    """Note a view for ``graph_api.routes`` (``/users/<ident>/...`` and ``/me/...``)."""

    def decorator(view_function: Callable) -> Callable:
        VIEWS.append((paths, methods, view_function))
        return view_function

    return decorator


def mailbox_for(caller: GraphCaller, ident: str | None) -> Mailbox:
    return graph.own_mailbox(caller) if ident is None else graph.find_mailbox(ident)


# --------------------------------------------------------------------------- reading


def room_of(box: Mailbox) -> Room:
    room = db.session.scalar(select(Room).where(Room.key == box.key))
    if room is None:
        raise NotFound()
    return room


def room_booking_item(room: Room, booking: RoomBooking, organizer: str | None = None) -> CalendarItem:
    return CalendarItem(uid=rooms.room_event_uid(booking), start=booking.start_at, end=booking.end_at,
                        source="room", subject=booking.title, location=localized(room.name, room.key),
                        change_key=view.change_key(booking.uid, booking.start_at, booking.end_at, booking.title),
                        body=organizer)


def public_use_items(room: Room, start: datetime, end: datetime) -> list[CalendarItem]:
    """Citizens' held (``tentative``) and confirmed requests of the room, without names."""
    return [CalendarItem(uid=public_requests.event_uid(use), start=use.start_at, end=use.end_at, source="room",
                         subject=public_label(request) or "belegt", location=localized(room.name, room.key),
                         show_as="busy" if use.status == "confirmed" else "tentative",
                         change_key=view.change_key(use.uid, use.start_at, use.end_at, use.status))
            for use, request in holding_uses(room.id, start, end)]


def items_for(box: Mailbox, start: datetime, end: datetime) -> list[CalendarItem]:
    """Every event of the mailbox's calendar overlapping ``[start, end)``: a staff member's calendar
    (``view.calendar_items``), or a room's bookings plus the events of its own CalDAV calendar."""
    if box.kind == "staff":
        return view.calendar_items(box.calendar_key, start, end) if box.calendar_key else []
    room = room_of(box)
    bookings = db.session.scalars(select(RoomBooking).where(
        RoomBooking.room_id == room.id, RoomBooking.start_at < end, RoomBooking.end_at > start)).all()
    items = [room_booking_item(room, booking) for booking in bookings] + public_use_items(room, start, end)
    if room.calendar_key:
        items += view.mirrored_items(room.calendar_key, start, end)
    return sorted(items, key=lambda item: (item.start, item.end, item.uid))


def find_event(box: Mailbox, event_id: str) -> CalendarItem:
    text = graph.decode_id(event_id)
    uid, _, moment = text.partition("\n")
    occurrence = None
    if moment:
        try:
            occurrence = datetime.fromisoformat(moment)
        except ValueError:
            raise NotFound() from None
    if box.kind == "room":
        room = room_of(box)
        for booking in db.session.scalars(select(RoomBooking).where(RoomBooking.room_id == room.id)):
            if rooms.room_event_uid(booking) == uid:
                return room_booking_item(room, booking)
        far = datetime.max.replace(tzinfo=UTC)
        item = next((candidate for candidate in public_use_items(room, datetime.min.replace(tzinfo=UTC), far)
                     if candidate.uid == uid), None)
        if item is not None:
            return item
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
        "type": "occurrence" if item.occurrence is not None else "seriesMaster" if item.series else "singleInstance",
        "recurrence": record.recurrence if record is not None and item.occurrence is None else None,
        "seriesMasterId": graph.encode_id(item.uid) if item.occurrence is not None else None,
        **_times(item, zone_name, zone),
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


def _times(item: CalendarItem, zone_name: str, zone: ZoneInfo) -> dict[str, Any]:
    """``start``/``end``; an all-day event's are its dates at midnight (in any zone asked for, as Graph)."""
    if not item.all_day:
        return {"start": graph.format_moment(item.start, zone_name, zone),
                "end": graph.format_moment(item.end, zone_name, zone)}
    own = graph.zone_named(item.record.time_zone if item.record is not None else None) or site_timezone()
    return {name: {"dateTime": f"{moment.astimezone(own).date().isoformat()}T00:00:00.0000000", "timeZone": zone_name}
            for name, moment in (("start", item.start), ("end", item.end))}


def context_of(box: Mailbox, name: str) -> str:
    return f"users('{box.mail}')/{name}"


@route("/users/<ident>/calendarView", "/users/<ident>/calendar/calendarView", methods=["GET"])
def calendar_view(ident: str | None):
    return event_page(ident, "calendarView", lambda: graph.query_range())


def event_page(ident: str | None, name: str, window: Callable[[], tuple[datetime, datetime]]):
    """A page of the mailbox's events in ``window()`` (``$top``, ``$select``, ``$orderby=start/dateTime``)."""
    caller = graph.authorize_graph("Calendars.Read")
    graph.reject_unsupported_options()
    _check_orderby()
    box = mailbox_for(caller, ident)
    start, end = window()
    zone_name, zone = graph.preferred_timezone()
    items = [event_json(box, item, zone_name, zone) for item in items_for(box, start, end)]
    return graph.collection(items, context=context_of(box, name), fields=graph.select_fields())


def _check_orderby() -> None:
    order = request.args.get("$orderby")
    if order is not None and order.replace(" asc", "").strip() != "start/dateTime":
        raise Invalid(_l("Sortiert werden kann nur nach start/dateTime."), code="unsupported_query_option")


# --------------------------------------------------------------------------- delta


@route("/users/<ident>/calendarView/delta", "/users/<ident>/calendarView/delta()",
        "/users/<ident>/calendar/calendarView/delta", "/users/<ident>/calendar/calendarView/delta()",
        methods=["GET"])
def calendar_view_delta(ident: str | None):
    """A delta round: the first call (``startDateTime``/``endDateTime``) returns every event of the range;
    the ``@odata.deltaLink`` (``$deltatoken``) then returns what changed since (changed events in full,
    removed ones as ``{"id", "@removed": {"reason": "deleted"}}``). One page per round."""
    caller = graph.authorize_graph("Calendars.Read")
    box = mailbox_for(caller, ident)
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


@route("/users/<ident>/calendar/getSchedule", methods=["POST"])
def get_schedule(ident: str | None):
    """Free/busy of several mailboxes: ``availabilityView`` (one digit per interval: 0 free, 1 tentative,
    2 busy, 3 out of office), ``scheduleItems`` (private ones without subject) and ``workingHours``."""
    caller = graph.authorize_graph("Calendars.Read")
    mailbox_for(caller, ident)
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
