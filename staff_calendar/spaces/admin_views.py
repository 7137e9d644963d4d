"""Admin pages "Räume und Plätze" (``/arbeitsplaetze/verwaltung/raeume-und-plaetze``): edit floors,
desks and rooms, create desks and rooms on a floor. Role ``admin``, no JavaScript, German and English.
Thin adapters: the form is typed by ``admin_schemas``, the rules are ``services.admin``; views never commit.
On a problem the form is shown again with what was entered and a message per field (400)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from citizen_portal.core.access import roles_required
from citizen_portal.core.calendar_days import WEEKDAYS
from citizen_portal.core.errors import Invalid
from citizen_portal.core.i18n import _, ngettext
from citizen_portal.core.schemas import Schema, parse_form
from staff_calendar.spaces import admin_schemas as forms
from staff_calendar.spaces.models import Desk, Floor, Room
from staff_calendar.spaces.services import admin
from staff_calendar.spaces.services.common import Actor

bp = Blueprint("spaces_admin", __name__, url_prefix="/arbeitsplaetze/verwaltung/raeume-und-plaetze")

TEMPLATES = "staff_calendar/spaces/admin_spaces"


def _weekday_labels() -> dict[str, str]:
    return {"mon": _("Montag"), "tue": _("Dienstag"), "wed": _("Mittwoch"), "thu": _("Donnerstag"),
            "fri": _("Freitag"), "sat": _("Samstag"), "sun": _("Sonntag")}


@bp.context_processor
def _helpers() -> dict:
    # the spaces layout shows the admin link in its menu (only admins reach these pages)
    return {"is_admin": True, "weekdays": WEEKDAYS, "weekday_labels": _weekday_labels(),
            "desk_attributes": forms.DESK_ATTRIBUTES, "room_attributes": forms.ROOM_ATTRIBUTES}


def _actor() -> Actor:
    return Actor.of(current_user)


def _render(template: str, status: int = 200, **context):
    context.setdefault("errors", {})
    return render_template(f"{TEMPLATES}/{template}", **context), status


# --- the texts a form shows: as stored, or as entered ----------------------------------------------

def _entered() -> dict[str, Any]:
    """The submitted form as the templates read it (``values.name_de``, ``values.attributes``)."""
    values: dict[str, Any] = {key: request.form.get(key, "").strip() for key in request.form}
    values["attributes"] = request.form.getlist("attributes")
    values["active"] = bool(request.form.get("active"))
    return values


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _placed(item: Desk | Room, fixed: tuple[str, ...]) -> dict[str, Any]:
    attributes = item.attributes or []
    return {"key": item.key, "attributes": [a for a in attributes if a in fixed],
            "more_attributes": ", ".join(a for a in attributes if a not in fixed),
            "x": _number_text(item.x), "y": _number_text(item.y), "active": item.active}


def _floor_texts(floor: Floor) -> dict[str, Any]:
    return {"name_de": floor.name.get("de", ""), "name_en": floor.name.get("en", ""), "active": floor.active,
            "desk_days_per_week": "" if floor.desk_days_per_week is None else str(floor.desk_days_per_week)}


def _desk_texts(desk: Desk | None) -> dict[str, Any]:
    if desk is None:
        return {"active": True, "attributes": []}
    return {**_placed(desk, forms.DESK_ATTRIBUTES), "label": desk.label or ""}


def _room_texts(room: Room | None) -> dict[str, Any]:
    if room is None:
        return {"active": True, "attributes": []}
    name = room.name or {}
    hours = {f"hours.{day}": ", ".join((room.opening_hours or {}).get(day) or []) for day in WEEKDAYS}
    return {**_placed(room, forms.ROOM_ATTRIBUTES), **hours, "name_de": name.get("de", ""),
            "name_en": name.get("en", ""), "capacity": str(room.capacity)}


def _saved(result: admin.Saved, message: str):
    """Flash what was saved (and the bookings a deactivation kept), then 303 to the overview."""
    flash(message, "success")
    if result.deactivated:
        flash(ngettext("Deaktiviert. %(num)s künftige Buchung bleibt bestehen; die Buchenden können sie "
                       "weiterhin stornieren. Informieren Sie sie bei Bedarf.",
                       "Deaktiviert. %(num)s künftige Buchungen bleiben bestehen; die Buchenden können sie "
                       "weiterhin stornieren. Informieren Sie sie bei Bedarf.", result.future_bookings), "info")
    return redirect(url_for(".index"), code=303)


@bp.get("/")
@roles_required("admin")
def index():
    return _render("index.html", floors=admin.floors_overview())


@bp.route("/etagen/<key>", methods=["GET", "POST"])
@roles_required("admin")
def floor(key: str):
    item = admin.get_floor(key)
    if request.method == "POST":
        try:
            result = admin.update_floor(_actor(), key, parse_form(forms.FloorInput, request.form))
        except Invalid as error:
            return _render("floor.html", 400, item=item, values=_entered(), errors=error.fields,
                           future=admin.future_floor_bookings(item))
        return _saved(result, _("Die Etage wurde gespeichert."))
    return _render("floor.html", item=item, values=_floor_texts(item), future=admin.future_floor_bookings(item))


@dataclass(frozen=True)
class SpaceKind:
    """What differs between the desk and the room pages; the handlers below are shared."""

    template: str
    edit_form: type[Schema]
    new_form: type[Schema]
    texts: Callable[[Any], dict[str, Any]]
    get: Callable[[str], Any]
    future_bookings: Callable[[list[int]], int]
    update: Callable[..., admin.Saved]
    create: Callable[..., admin.Saved]
    updated: Callable[[], str]
    created: Callable[[], str]


DESK = SpaceKind("desk.html", forms.DeskInput, forms.NewDeskInput, _desk_texts, admin.any_desk,
                 admin.future_desk_bookings, admin.update_desk, admin.create_desk,
                 lambda: _("Der Arbeitsplatz wurde gespeichert."), lambda: _("Der Arbeitsplatz wurde angelegt."))
ROOM = SpaceKind("room.html", forms.RoomInput, forms.NewRoomInput, _room_texts, admin.any_room,
                 admin.future_room_bookings, admin.update_room, admin.create_room,
                 lambda: _("Der Raum wurde gespeichert."), lambda: _("Der Raum wurde angelegt."))


def _edit(kind: SpaceKind, key: str):
    item = kind.get(key)
    future = kind.future_bookings([item.id])
    if request.method == "POST":
        try:
            result = kind.update(_actor(), key, parse_form(kind.edit_form, request.form))
        except Invalid as error:
            return _render(kind.template, 400, item=item, floor=item.floor, values={**_entered(), "key": key},
                           errors=error.fields, future=future)
        return _saved(result, kind.updated())
    return _render(kind.template, item=item, floor=item.floor, values=kind.texts(item), future=future)


def _create(kind: SpaceKind, floor_key: str):
    floor = admin.get_floor(floor_key)
    if request.method == "POST":
        try:
            result = kind.create(_actor(), floor_key, parse_form(kind.new_form, request.form))
        except Invalid as error:
            return _render(kind.template, 400, item=None, floor=floor, values=_entered(), errors=error.fields, future=0)
        return _saved(result, kind.created())
    return _render(kind.template, item=None, floor=floor, values=kind.texts(None), future=0)


@bp.route("/plaetze/<key>", methods=["GET", "POST"])
@roles_required("admin")
def desk(key: str):
    return _edit(DESK, key)


@bp.route("/etagen/<floor_key>/neuer-platz", methods=["GET", "POST"])
@roles_required("admin")
def new_desk(floor_key: str):
    return _create(DESK, floor_key)


@bp.route("/raeume/<key>", methods=["GET", "POST"])
@roles_required("admin")
def room(key: str):
    return _edit(ROOM, key)


@bp.route("/etagen/<floor_key>/neuer-raum", methods=["GET", "POST"])
@roles_required("admin")
def new_room(floor_key: str):
    return _create(ROOM, floor_key)
