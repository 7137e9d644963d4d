"""Appointment rules for the ``service_admin`` role: opening hours and closures, services,
qualifications and staff working hours (HTML, no JavaScript). Thin adapter over
``citizen_portal.booking.services.admin``; the site file stays the source (see that module)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from citizen_portal.booking import forms
from citizen_portal.booking.services import admin
from citizen_portal.core.access import roles_required
from citizen_portal.core.errors import Invalid
from citizen_portal.core.i18n import _

bp = Blueprint("booking_admin", __name__, url_prefix="/verwaltung/termine")

def _weekday_labels() -> dict[str, str]:
    return {
        "mon": _("Montag"), "tue": _("Dienstag"), "wed": _("Mittwoch"), "thu": _("Donnerstag"),
        "fri": _("Freitag"), "sat": _("Samstag"), "sun": _("Sonntag"),
    }


def _render(template: str, status: int = 200, **context):
    context.setdefault("weekday_labels", _weekday_labels())
    context.setdefault("weekdays", admin.WEEKDAYS)
    return render_template(f"citizen_portal/booking/admin/{template}", **context), status


@bp.get("/")
@roles_required("service_admin")
def index():
    return _render("index.html", locations=admin.list_locations(), services=admin.list_services(),
                   staff=admin.list_staff())


@bp.route("/standorte/<key>", methods=["GET", "POST"])
@roles_required("service_admin")
def location(key: str):
    item = admin.get_location(key)
    values = {"hours": admin.week_as_texts(item.opening_hours), "closures": "\n".join(item.closures or [])}
    if request.method == "POST":
        values = {"hours": {day: request.form.get(f"hours.{day}", "") for day in admin.WEEKDAYS},
                  "closures": request.form.get("closures", "")}
        errors: dict[str, object] = {}
        hours: dict[str, list[str]] = {}
        closures: list[str] = []
        try:
            hours = forms.parse_hours_form(request.form)
        except Invalid as error:
            errors.update(error.fields)
        try:
            closures = forms.parse_closures_form(request.form)
        except Invalid as error:
            errors.update(error.fields)
        if not errors:
            try:
                admin.update_location_hours(key, hours, closures)
            except Invalid as error:
                errors.update(error.fields)
        if not errors:
            flash(_("Öffnungszeiten und Schließtage gespeichert."), "success")
            return redirect(url_for(".index"), code=303)
        return _render("location.html", 400, item=item, values=values, errors=errors)
    return _render("location.html", item=item, values=values, errors={})


def _service_values(service) -> dict:
    return {
        "name_de": service.name.get("de", ""), "name_en": service.name.get("en", ""),
        "description_de": (service.description or {}).get("de", ""),
        "description_en": (service.description or {}).get("en", ""),
        "documents_de": "\n".join((service.documents or {}).get("de", [])),
        "documents_en": "\n".join((service.documents or {}).get("en", [])),
        "duration_minutes": service.duration_minutes, "buffer_minutes": service.buffer_minutes,
        "min_lead_hours": service.min_lead_hours, "horizon_days": service.horizon_days,
        "max_active_per_email": service.max_active_per_email,
        "email_confirmation": service.email_confirmation, "active": service.active,
        "locations": [location.id for location in service.locations],
    }


@bp.route("/leistungen/<key>", methods=["GET", "POST"])
@roles_required("service_admin")
def service(key: str):
    item = admin.get_service(key)
    if request.method == "POST":
        values = request.form.to_dict()
        values["locations"] = [int(v) for v in request.form.getlist("locations") if v.isdigit()]
        values["email_confirmation"] = request.form.get("email_confirmation") == "1"
        values["active"] = request.form.get("active") == "1"
        try:
            admin.update_service(key, forms.parse_service_form(request.form))
        except Invalid as error:
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
    values = {
        "hours": admin.week_as_texts(item.working_hours),
        "services": [service.id for service in item.services],
        "locations": [location.id for location in item.locations],
    }
    if request.method == "POST":
        service_ids, location_ids = forms.parse_qualifications_form(request.form)
        values = {"hours": {day: request.form.get(f"hours.{day}", "") for day in admin.WEEKDAYS},
                  "services": service_ids, "locations": location_ids}
        try:
            hours = forms.parse_hours_form(request.form)
            admin.update_staff(key, service_ids, location_ids, hours or None)
        except Invalid as error:
            return _render("staff.html", 400, item=item, values=values, errors=error.fields,
                           services=admin.list_services(), locations=admin.list_locations())
        flash(_("Mitarbeiterin/Mitarbeiter gespeichert."), "success")
        return redirect(url_for(".index"), code=303)
    return _render("staff.html", item=item, values=values, errors={},
                   services=admin.list_services(), locations=admin.list_locations())
