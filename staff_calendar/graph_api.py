"""Graph calendar endpoints (``/graph/v1.0/users/{id}/...``) of staff members and rooms: the blueprint,
and a mailbox's events (list, get, create, update, delete, cancel), a thin adapter over
``calendars.graph_events`` (a staff member's events) and ``spaces.services.rooms`` (a room's events
are its room bookings, with the room rules). Reading, calendarView (+ delta) and getSchedule live in
``staff_calendar.graph_calendar_view``; its views are registered here, on the same blueprint.

``{id}`` is a mailbox id or e-mail address (``citizen_portal.core.graph.find_mailbox``); every route
also answers under ``/me/...`` for the token's own mailbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import jsonify, request
from sqlalchemy import select

from citizen_portal.core import graph
from citizen_portal.core.access import has_role
from citizen_portal.core.database import utcnow
from citizen_portal.core.errors import Forbidden, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.graph import GraphCaller, Mailbox
from citizen_portal.core.i18n import _l
from citizen_portal.core.schemas import parse
from staff_calendar import graph_calendar_view
from staff_calendar.calendars import graph_events, view
from staff_calendar.calendars.view import CalendarItem
from staff_calendar.graph_calendar_view import (
    context_of,
    event_json,
    event_page,
    find_event,
    mailbox_for,
    room_booking_item,
    room_of,
)
from staff_calendar.graph_schemas import CancelInput, EventInput
from staff_calendar.spaces.models import RoomBooking
from staff_calendar.spaces.services import rooms
from staff_calendar.spaces.services.common import Actor

bp = graph.graph_blueprint("graph_calendar", __name__)

LIST_PAST_DAYS, LIST_FUTURE_DAYS = 90, 365


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


for _paths, _methods, _view_function in graph_calendar_view.VIEWS:
    routes(*_paths, methods=_methods)(_view_function)


def _events_target(caller: GraphCaller, groups: dict[str, str]) -> graph.SubscriptionTarget:
    """Change notifications of a mailbox's events: a staff member's calendar (every change the platform
    writes into it: Graph events, appointments, room and desk bookings), a room's bookings."""
    box = mailbox_for(caller, groups.get("ident"))
    topics = [f"room:{box.key}"] if box.kind == "room" else [f"calendar:{_staff_calendar(box)}"]
    return graph.SubscriptionTarget(topics, f"Users/{box.id}/Events", "#Microsoft.Graph.Event")


bp.record_once(lambda state: graph.register_subscription_resource(state.app, graph.SubscriptionResource(
    "events", r"(?:users/(?P<ident>[^/]+)|me)(?:/calendar)?/events", "Calendars.Read", _events_target)))


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


# --------------------------------------------------------------------------- reading (more: graph_calendar_view)


@routes("/users/<ident>/events", "/users/<ident>/calendar/events", methods=["GET"])
def list_events(ident: str | None):
    """The mailbox's events from 90 days ago to a year ahead (occurrences expanded)."""
    now = utcnow()
    return event_page(ident, "events",
                      lambda: (now - timedelta(days=LIST_PAST_DAYS), now + timedelta(days=LIST_FUTURE_DAYS)))


@routes("/users/<ident>/events/<event_id>", "/users/<ident>/calendar/events/<event_id>", methods=["GET"])
def get_event(ident: str | None, event_id: str):
    caller = graph.authorize_graph("Calendars.Read")
    box = mailbox_for(caller, ident)
    zone_name, zone = graph.preferred_timezone()
    body = {"@odata.context": f"{graph.PREFIX}/$metadata#{context_of(box, 'events')}/$entity",
            **event_json(box, find_event(box, event_id), zone_name, zone)}
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
    values.all_day = bool(data.is_all_day)
    values.recurrence = data.recurrence
    return values


def _owner(box: Mailbox) -> str:
    return box.key


@routes("/users/<ident>/events", "/users/<ident>/calendar/events", methods=["POST"])
def create_event(ident: str | None):
    caller = graph.authorize_graph("Calendars.ReadWrite")
    box = mailbox_for(caller, ident)
    _may_write(caller, box)
    data = parse(EventInput, graph.json_body())
    values = _fields(data)
    zone_name, zone = graph.preferred_timezone()
    if box.kind == "room":
        item = _book_room(caller, box, values)
    else:
        event, _new = graph_events.create_event(_owner(box), _staff_calendar(box), values)
        item = view.graph_item(event)
    return graph.created({"@odata.context": f"{graph.PREFIX}/$metadata#{context_of(box, 'events')}/$entity",
                          **event_json(box, item, zone_name, zone)})


def _book_room(caller: GraphCaller, box: Mailbox, values: graph_events.EventFields) -> CalendarItem:
    """A room event is a room booking (hours, grid, capacity, no overlap: ``rooms.book_room``); the
    number of attendees is the attendees sent (at least 1)."""
    if values.start is None or values.end is None:
        raise Invalid(fields={"start": _l("Bitte geben Sie Beginn und Ende an.")})
    attendees = max(1, len([a for a in values.attendees if a.get("type") != "resource"]))
    booking = rooms.book_room(Actor.of(caller.user), box.key, values.start, values.end,
                              values.subject or "Termin", attendees)
    return room_booking_item(room_of(box), booking)


@routes("/users/<ident>/events/<event_id>", "/users/<ident>/calendar/events/<event_id>", methods=["PATCH"])
def update_event(ident: str | None, event_id: str):
    caller = graph.authorize_graph("Calendars.ReadWrite")
    box = mailbox_for(caller, ident)
    _may_write(caller, box)
    item = _writable(box, event_id)
    values = _fields(parse(EventInput, graph.json_body()))
    if "recurrence" in values.sent:
        raise Invalid(fields={"recurrence": _l("Die Wiederholung einer Serie kann nicht geändert werden; bitte "
                                               "löschen Sie die Serie und legen Sie sie neu an.")},
                      code="recurrence_not_supported")
    event = graph_events.update_event(_owner(box), box.calendar_key or "", item.uid, values,
                                      if_match=request.headers.get("If-Match"))
    zone_name, zone = graph.preferred_timezone()
    return jsonify(event_json(box, view.graph_item(event), zone_name, zone))


def _writable(box: Mailbox, event_id: str) -> CalendarItem:
    """An event written through Graph; a single occurrence of a series is changed only with its series."""
    item = find_event(box, event_id)
    if item.source != "graph":
        raise Forbidden(_l("Dieser Termin wurde nicht über diese Schnittstelle angelegt und kann hier nur "
                           "gelesen werden."))
    if item.occurrence is not None:
        raise Invalid(_l("Einzelne Termine einer Serie können nicht geändert werden; bitte ändern Sie die Serie "
                         "(seriesMasterId)."), code="occurrence_not_supported")
    return item


@routes("/users/<ident>/events/<event_id>", "/users/<ident>/calendar/events/<event_id>", methods=["DELETE"])
def delete_event(ident: str | None, event_id: str):
    caller = graph.authorize_graph("Calendars.ReadWrite")
    box = mailbox_for(caller, ident)
    _may_write(caller, box)
    item = find_event(box, event_id)
    if item.source == "room":
        booking = _room_booking(box, item.uid)
        rooms.cancel_room_booking(Actor.of(caller.user), booking.id)
        return graph.no_content()
    item = _writable(box, event_id)
    graph_events.delete_event(_owner(box), box.calendar_key or "", item.uid,
                              if_match=request.headers.get("If-Match"))
    return graph.no_content()


def _room_booking(box: Mailbox, uid: str) -> RoomBooking:
    room = room_of(box)
    for booking in db.session.scalars(select(RoomBooking).where(RoomBooking.room_id == room.id)):
        if rooms.room_event_uid(booking) == uid:
            return booking
    raise NotFound()


@routes("/users/<ident>/events/<event_id>/cancel", "/users/<ident>/calendar/events/<event_id>/cancel",
        methods=["POST"])
def cancel_event(ident: str | None, event_id: str):
    caller = graph.authorize_graph("Calendars.ReadWrite")
    box = mailbox_for(caller, ident)
    _may_write(caller, box)
    parse(CancelInput, request.get_json(silent=True) or {})
    item = find_event(box, event_id)
    if item.source == "room":
        rooms.cancel_room_booking(Actor.of(caller.user), _room_booking(box, item.uid).id)
    else:
        graph_events.cancel_event(_owner(box), box.calendar_key or "", _writable(box, event_id).uid)
    return graph.accepted()
