"""Pages of desk and room booking (``/arbeitsplaetze``): login required, German and English,
no JavaScript. Thin adapters: forms and query strings are typed by ``schemas`` (the same models as
the JSON API), the rules are ``staff_calendar.spaces.services``; views never commit."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

import segno
from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from citizen_portal.core.access import roles_required
from citizen_portal.core.errors import Conflict, DomainError, Invalid
from citizen_portal.core.i18n import _, _l
from citizen_portal.core.schemas import S, parse_form
from staff_calendar.spaces import schemas
from staff_calendar.spaces.services import blocks, bookable, desks, feeds, occupancy, presence, rooms
from staff_calendar.spaces.services.common import (
    Actor,
    closed_reason,
    load_settings,
    local_moment,
    today_local,
    week_bounds,
)

bp = Blueprint("spaces", __name__, url_prefix="/arbeitsplaetze")

PART_LABELS = {"day": _l("Ganzer Tag"), "morning": _l("Vormittag"), "afternoon": _l("Nachmittag")}
WEEKDAY_LABELS = (_l("Montag"), _l("Dienstag"), _l("Mittwoch"), _l("Donnerstag"), _l("Freitag"))
ATTRIBUTE_LABELS = {
    "monitor": _l("Monitor"), "standing": _l("Stehtisch"), "accessible": _l("Barrierefrei"),
    "docking": _l("Dockingstation"), "quiet": _l("Ruhezone"), "window": _l("Fenster"),
    "projector": _l("Beamer"), "video-conference": _l("Videokonferenz"), "screen": _l("Bildschirm"),
}


def _register_navigation(state) -> None:
    from citizen_portal.core.navigation import register_landing, register_nav_item

    register_nav_item(state.app, "spaces", _l("Arbeitsplätze"), lambda: url_for("spaces.my_week"),
                      roles=("staff",), order=40)
    register_nav_item(state.app, "spaces_admin", _l("Arbeitsplätze verwalten"), lambda: url_for("spaces.admin"),
                      roles=("admin",), order=80)
    # an administrator lands on the administration of desks and rooms (lowest order: before her other roles)
    register_landing(state.app, "admin", lambda: url_for("spaces.admin"), order=10)


bp.record_once(_register_navigation)


@bp.app_template_filter("attribute_label")
def attribute_label(value: str) -> str:
    label = ATTRIBUTE_LABELS.get(value)
    return str(label) if label is not None else value


@bp.context_processor
def _helpers() -> dict:
    return {"part_label": lambda part: str(PART_LABELS.get(part, part)), "weekday_labels": WEEKDAY_LABELS,
            "is_admin": _actor().is_admin if current_user.is_authenticated else False}


def _actor() -> Actor:
    return Actor.of(current_user)


def _error_context(error: DomainError) -> dict:
    return {"error": error}


def _done(message: str, endpoint: str = "spaces.my_week") -> Response:
    """After a successful write: the success message, then 303 See Other to ``endpoint`` (post/redirect/get)."""
    flash(message, "success")
    return redirect(url_for(endpoint), code=303)


def _page_query(model: type[S]) -> S:
    """The page's state (``?date=&floor=``, or the same fields of a form posted on it) typed by
    ``model``; what cannot be read falls back to the page's defaults."""
    fields = {field.alias or name for name, field in model.model_fields.items()}
    values = MultiDict([(key, value) for key, value in request.values.items(multi=True) if key in fields])
    try:
        return parse_form(model, values)
    except Invalid:
        return model()


def _chosen_day(day: date | None, days: list[date], default_day: date) -> date:
    """The day asked for when it is one of ``days``, else ``default_day`` (the page opens on the
    first day that still offers something)."""
    return day if day in days else default_day


# --- my week -------------------------------------------------------------------------------------

@bp.get("/")
@roles_required("staff")
def my_week():
    actor = _actor()
    today = today_local()
    monday, _sunday = week_bounds(today)
    last = monday + timedelta(days=13)
    groups: dict[str, list] = {}
    for row in desks.my_desk_bookings(actor, today, last):
        groups.setdefault(row.group_uid, []).append(row)
    room_bookings = rooms.my_room_bookings(actor, local_moment(today, datetime.min.time()),
                                           local_moment(last + timedelta(days=1), datetime.min.time()))
    settings = load_settings()
    team, visible = presence.my_team_and_visibility(actor)
    return render_template(
        "staff_calendar/spaces/my_week.html",
        desk_groups=list(groups.values()), room_bookings=room_bookings, room_cancellable=rooms.cancellable,
        today=today, settings=settings,
        usage=desks.week_usage(actor.id, today), limit=settings.desk_days_per_week,
        has_feed=feeds.has_feed(actor), feed_url=None, team=team, visible=visible,
    )


@bp.post("/buchungen/<int:booking_id>/stornieren")
@roles_required("staff")
def cancel_desk(booking_id: int):
    data = parse_form(schemas.CancelDeskInput, request.form)
    desks.cancel_desk_booking(_actor(), booking_id, data.part)
    return _done(_("Die Buchung wurde storniert."))


@bp.post("/buchungen/<int:booking_id>/einchecken")
@roles_required("staff")
def check_in(booking_id: int):
    parse_form(schemas.CheckInInput, request.form)
    desks.check_in(_actor(), booking_id)
    return _done(_("Sie sind eingecheckt."))


@bp.route("/platz/<desk_key>/einchecken", methods=["GET", "POST"])
@roles_required("staff")
def desk_check_in(desk_key: str):
    """Target of the QR code on the desk: a confirmation page (GET), check-in (POST)."""
    desk = desks.active_desk(desk_key)
    if request.method == "POST":
        parse_form(schemas.CheckInInput, request.form)
        desks.check_in_at_desk(_actor(), desk_key)
        return _done(_("Sie sind eingecheckt."))
    return render_template("staff_calendar/spaces/check_in.html", desk=desk)


# --- desk booking --------------------------------------------------------------------------------

def _render_desks(status: int = 200, **extra):
    actor = _actor()
    settings = load_settings()
    query = _page_query(schemas.DeskPageQuery)
    floors = desks.active_floors()
    floor = query.floor if query.floor in {f.key for f in floors} else None
    days = desks.desk_days(floor_key=floor)
    default_day = next((d.day for d in days if d.offers), None) or next(
        (d.day for d in days if d.halves), days[0].day if days else today_local())
    day = _chosen_day(query.date, [d.day for d in days], default_day)
    chosen_attributes = tuple(query.attribute)
    items = desks.desk_availability(day, floor_key=floor, attributes=chosen_attributes, actor=actor)
    plan_floor = next((f for f in floors if f.key == floor), floors[0] if len(floors) == 1 else None)
    plan = [item for item in items if plan_floor and item.desk.floor_id == plan_floor.id
            and item.desk.x is not None and item.desk.y is not None]
    return render_template(
        "staff_calendar/spaces/book_desk.html", day=day, days=[(d.day, d.closed) for d in days], overview=days,
        floor=floor, floors=floors, attributes=desks.all_attributes(), chosen_attributes=chosen_attributes,
        items=items, closed=closed_reason(settings, day), plan=plan, plan_floor=plan_floor,
        usage=desks.week_usage(actor.id, day), limit=settings.desk_days_per_week,
        series_first=next((d.day for d in days if d.halves), default_day),
        series_last=today_local() + timedelta(days=settings.series_horizon_days - 1), **extra,
    ), status


@bp.get("/buchen")
@roles_required("staff")
def book_desk_form():
    return _render_desks()


# fields of the page, not of the booking: the floor filter the booking buttons carry along
PAGE_FIELDS = frozenset({"csrf_token", "floor"})


@bp.post("/buchen")
@roles_required("staff")
def book_desk():
    try:
        data = parse_form(schemas.DeskBookingInput, request.form, ignore=PAGE_FIELDS)
        rows = desks.book_desk(_actor(), data.desk, data.date, data.part)
    except (Invalid, Conflict) as error:
        return _render_desks(**_error_context(error), status=error.status)
    return _done(_("Gebucht: %(desk)s am %(day)s, %(part)s.", desk=desks.desk_title(rows[0].desk),
                   day=data.date.strftime("%d.%m.%Y"), part=PART_LABELS[data.part]))


@bp.post("/serie")
@roles_required("staff")
def book_series():
    try:
        data = parse_form(schemas.DeskSeriesInput, request.form, ignore=PAGE_FIELDS)
        results = desks.book_desk_series(_actor(), data.desk, data.part, data.weekdays, data.first_day, data.weeks)
    except (Invalid, Conflict) as error:
        return _render_desks(**_error_context(error), status=error.status)
    return render_template("staff_calendar/spaces/series_result.html", results=results,
                           desk=desks.active_desk(data.desk), part=data.part)


# --- rooms ---------------------------------------------------------------------------------------

def _render_rooms(status: int = 200, **extra):
    all_rooms = rooms.active_rooms()
    days, default_day = rooms.room_days(all_rooms)
    day = _chosen_day(_page_query(schemas.DayPageQuery).date, [option for option, _reason in days], default_day)
    schedule = rooms.room_schedule(all_rooms, day)
    starts, ends, start, end = bookable.time_choices([entry.free for entry in schedule])
    return render_template("staff_calendar/spaces/rooms.html", day=day, days=days, schedule=schedule,
                           rooms=all_rooms, starts=starts, ends=ends, form=request.form,
                           start=request.form.get("start") or start, end=request.form.get("end") or end,
                           **extra), status


@bp.get("/raeume")
@roles_required("staff")
def rooms_page():
    return _render_rooms()


@bp.post("/raeume/buchen")
@roles_required("staff")
def book_room():
    try:
        data = parse_form(schemas.RoomBookingInput, request.form)
        booking = rooms.book_room(_actor(), data.room, data.start_at, data.end_at, data.title, data.attendees)
    except Conflict as error:  # taken or blocked: offer the room's next free time of the same length
        suggestion = rooms.next_free_time(data.room, data.start_at, data.end_at)
        return _render_rooms(**_error_context(error), suggestion=suggestion, status=error.status)
    except Invalid as error:
        return _render_rooms(**_error_context(error), status=error.status)
    return _done(_("Raum gebucht: %(title)s.", title=booking.title))


@bp.post("/raumbuchungen/<int:booking_id>/stornieren")
@roles_required("staff")
def cancel_room(booking_id: int):
    rooms.cancel_room_booking(_actor(), booking_id)
    return _done(_("Die Raumbuchung wurde storniert."))


# --- who's in ------------------------------------------------------------------------------------

@bp.get("/wer-ist-da")
@roles_required("staff")
def whos_in():
    actor = _actor()
    today = today_local()
    monday, _sunday = week_bounds(today)
    start = _page_query(schemas.WeekQuery).week or monday
    start = start - timedelta(days=start.weekday())
    days = [start + timedelta(days=n) for n in range(5)]
    team, visible = presence.my_team_and_visibility(actor)
    return render_template("staff_calendar/spaces/whos_in.html", days=days, team=team, visible=visible,
                           people=presence.whos_in(actor, days[0], days[-1]),
                           previous_week=start - timedelta(days=7), next_week=start + timedelta(days=7))


@bp.post("/sichtbarkeit")
@roles_required("staff")
def set_visibility():
    visible = parse_form(schemas.VisibilityInput, request.form).visible
    presence.set_visibility(_actor(), visible)
    message = _("Sie sind jetzt für Ihr Team sichtbar.") if visible else _("Sie sind jetzt für Ihr Team unsichtbar.")
    return _done(message, "spaces.whos_in")


# --- personal feed -------------------------------------------------------------------------------

@bp.post("/kalender-abo")
@roles_required("staff")
def create_feed():
    token = feeds.create_feed_token(_actor())
    feed_url = current_app.config["BASE_URL"].rstrip("/") + url_for("spaces.feed", token=token)
    webcal_url = "webcal://" + feed_url.split("://", 1)[-1]  # opens the subscribe dialog of calendar programs
    return render_template("staff_calendar/spaces/feed_created.html", feed_url=feed_url, webcal_url=webcal_url)


@bp.post("/kalender-abo/widerrufen")
@roles_required("staff")
def revoke_feed():
    feeds.revoke_feed_token(_actor())
    return _done(_("Die Abo-Adresse wurde widerrufen."))


@bp.get("/kalender/<token>.ics")
def feed(token: str):
    """The personal feed, for calendar clients (no login: the secret URL is the key). A strong ETag of
    the bytes (stable while no booking changes) answers ``If-None-Match`` with 304."""
    body = feeds.feed_for_token(token)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="arbeitsplaetze.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.make_conditional(request)
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# --- admin ---------------------------------------------------------------------------------------

def _occupancy_range() -> tuple[date, date]:
    today = today_local()
    monday, _sunday = week_bounds(today)
    query = parse_form(schemas.PeriodQuery, request.args)
    first = query.first or monday - timedelta(days=7)
    last = query.last or monday + timedelta(days=13)
    if last < first or (last - first).days > 366:
        raise Invalid(fields={"to": _l("Bitte wählen Sie einen Zeitraum von höchstens einem Jahr.")})
    return first, last


def _render_admin(status: int = 200, **extra):
    try:
        first, last = _occupancy_range()
    except Invalid as error:
        extra.setdefault("error", error)
        today = today_local()
        first, last = today, today + timedelta(days=13)
    rows, k = occupancy.occupancy(first, last)
    return render_template("staff_calendar/spaces/admin.html", rows=rows, k=k, first=first, last=last,
                           blocks=blocks.current_blocks(), desks=blocks.all_desks(), rooms=rooms.active_rooms(),
                           form=request.form, **extra), status


@bp.get("/verwaltung")
@roles_required("admin")
def admin():
    return _render_admin()


@bp.get("/verwaltung/auslastung.csv")
@roles_required("admin")
def occupancy_csv():
    first, last = _occupancy_range()
    body = occupancy.occupancy_csv(first, last)
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="auslastung-{first}-{last}.csv"'
    return response


@bp.post("/verwaltung/sperren")
@roles_required("admin")
def create_block():
    try:
        data = parse_form(schemas.BlockInput, request.form)
        blocks.create_block(_actor(), desk_key=data.desk_key, room_key=data.room_key, first_day=data.first_day,
                            last_day=data.until, reason=data.reason)
    except (Invalid, Conflict) as error:
        return _render_admin(**_error_context(error), status=error.status)
    return _done(_("Die Sperrung wurde gespeichert."), "spaces.admin")


@bp.post("/verwaltung/sperren/<int:block_id>/aufheben")
@roles_required("admin")
def delete_block(block_id: int):
    blocks.delete_block(_actor(), block_id)
    return _done(_("Die Sperrung wurde aufgehoben."), "spaces.admin")


@bp.get("/verwaltung/platz/<desk_key>/qr")
@roles_required("admin")
def desk_qr(desk_key: str):
    """A printable page per desk with a QR code leading to its check-in page (SVG, made here)."""
    desk = desks.active_desk(desk_key)
    target = current_app.config["BASE_URL"].rstrip("/") + url_for("spaces.desk_check_in", desk_key=desk.key)
    qr = segno.make(target, error="m")
    svg = qr.svg_inline(scale=8, dark="#000", light="#fff", title=_("QR-Code zum Einchecken"))
    return render_template("staff_calendar/spaces/desk_qr.html", desk=desk, target=target, svg=Markup(svg))
