"""Staff page of fair access per service (login with the ``staff`` role): waiting-list length,
offers by outcome, release windows with their seeds and results, and a CSV export without personal
data. Numbers from ``stats.py``."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, url_for

from citizen_portal.booking.fairness.stats import csv_text, service_report
from citizen_portal.booking.services import list_services, load_service
from citizen_portal.core.access import roles_required
from citizen_portal.core.i18n import _l

bp = Blueprint("fairness_staff", __name__, url_prefix="/mitarbeitende/warteliste")


def _register_navigation(state) -> None:
    from citizen_portal.core.navigation import register_nav_item

    register_nav_item(state.app, "fairness_staff", _l("Wartelisten"), lambda: url_for("fairness_staff.index"),
                      roles=("staff",), order=25)


bp.record_once(_register_navigation)


@bp.get("/")
@roles_required("staff")
def index() -> str:
    return render_template("citizen_portal/booking/waiting_list/staff_index.html", services=list_services())


@bp.get("/<service_key>")
@roles_required("staff")
def service(service_key: str) -> str:
    report = service_report(load_service(service_key))
    return render_template("citizen_portal/booking/waiting_list/staff_service.html", report=report)


@bp.get("/<service_key>.csv")
@roles_required("staff")
def export(service_key: str) -> Response:
    service_row = load_service(service_key)
    return Response(csv_text(service_report(service_row)), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="warteliste-{service_row.key}.csv"'})
