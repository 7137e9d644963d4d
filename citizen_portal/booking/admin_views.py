"""Appointment rules for the ``service_admin`` role: opening hours and closures, services,
qualifications and staff working hours (HTML, no JavaScript). Thin adapter over
``citizen_portal.booking.services.admin``; the forms parse through ``booking.schemas``; the site
file stays the source (see that module)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from citizen_portal.booking import schemas
from citizen_portal.booking.models import Service
from citizen_portal.booking.services import admin
from citizen_portal.core.access import roles_required
from citizen_portal.core.calendar_days import WEEKDAYS
from citizen_portal.core.errors import Invalid
from citizen_portal.core.i18n import _
from citizen_portal.core.schemas import id_or_none, parse_form

bp = Blueprint("booking_admin", __name__, url_prefix="/verwaltung/termine")


def _weekday_labels() -> dict[str, str]:
    return {
        "mon": _("Montag"), "tue": _("Dienstag"), "wed": _("Mittwoch"), "thu": _("Donnerstag"),
        "fri": _("Freitag"), "sat": _("Samstag"), "sun": _("Sonntag"),
    }


def _render(template: str, status: int = 200, **context):
    context.setdefault("weekday_labels", _weekday_labels())
    context.setdefault("weekdays", WEEKDAYS)
    return render_template(f"citizen_portal/booking/admin/{template}", **context), status


def _week_texts(week: dict[str, list[str]] | None) -> dict[str, str]:
    """A stored week as the form's seven texts."""
    return {day: ", ".join((week or {}).get(day, [])) for day in WEEKDAYS}


def _typed_week(form: MultiDict) -> dict[str, str]:
    return {day: form.get(f"hours.{day}", "") for day in WEEKDAYS}


def _ids(form: MultiDict, name: str) -> list[int]:
    """The ticked boxes as typed, for re-rendering (a forged value is simply not ticked)."""
    return [number for number in map(id_or_none, form.getlist(name)) if number is not None]


@bp.get("/")
@roles_required("service_admin")
def index():
    return _render("index.html", locations=admin.list_locations(), services=admin.list_services(),
                   staff=admin.list_staff())


@bp.route("/standorte/<key>", methods=["GET", "POST"])
@roles_required("service_admin")
def location(key: str):
    item = admin.get_location(key)
    if request.method == "POST":
        try:
            admin.update_location_hours(key, parse_form(schemas.LocationHours, request.form))
        except Invalid as error:
            values = {"hours": _typed_week(request.form), "closures": request.form.get("closures", "")}
            return _render("location.html", 400, item=item, values=values, errors=error.fields)
        flash(_("Öffnungszeiten und Schließtage gespeichert."), "success")
        return redirect(url_for(".index"), code=303)
    values = {"hours": _week_texts(item.opening_hours), "closures": "\n".join(item.closures or [])}
    return _render("location.html", item=item, values=values, errors={})


def _service_values(service: Service) -> dict[str, Any]:
    return {
        "name_de": service.name.get("de", ""), "name_en": service.name.get("en", ""),
        "description_de": (service.description or {}).get("de", ""),
        "description_en": (service.description or {}).get("en", ""),
        "documents_de": "\n".join((service.documents or {}).get("de", [])),
        "documents_en": "\n".join((service.documents or {}).get("en", [])),
        **{name: getattr(service, name) for name in schemas.SERVICE_NUMBERS},
        "email_confirmation": service.email_confirmation, "active": service.active,
        "locations": [location.id for location in service.locations],
    }


@bp.route("/leistungen/<key>", methods=["GET", "POST"])
@roles_required("service_admin")
def service(key: str):
    item = admin.get_service(key)
    if request.method == "POST":
        try:
            admin.update_service(key, parse_form(schemas.ServiceForm, request.form))
        except Invalid as error:
            values = {**request.form.to_dict(), "locations": _ids(request.form, "locations"),
                      "email_confirmation": bool(request.form.get("email_confirmation")),
                      "active": bool(request.form.get("active"))}
            return _render("service.html", 400, item=item, values=values, errors=error.fields,
                           locations=admin.list_locations())
        flash(_("Leistung gespeichert."), "success")
        return redirect(url_for(".index"), code=303)
    return _render("service.html", item=item, values=_service_values(item), errors={},
                   locations=admin.list_locations())


@bp.route("/mitarbeitende/<key>", methods=["GET", "POST"])
@roles_required("service_admin")
def staff(key: str):
    item = admin.get_staff(key)
    if request.method == "POST":
        try:
            admin.update_staff(key, parse_form(schemas.StaffForm, request.form))
        except Invalid as error:
            values = {"hours": _typed_week(request.form), "services": _ids(request.form, "services"),
                      "locations": _ids(request.form, "locations")}
            return _render("staff.html", 400, item=item, values=values, errors=error.fields,
                           services=admin.list_services(), locations=admin.list_locations())
        flash(_("Mitarbeiterin/Mitarbeiter gespeichert."), "success")
        return redirect(url_for(".index"), code=303)
    values = {"hours": _week_texts(item.working_hours), "services": [service.id for service in item.services],
              "locations": [location.id for location in item.locations]}
    return _render("staff.html", item=item, values=values, errors={},
                   services=admin.list_services(), locations=admin.list_locations())
