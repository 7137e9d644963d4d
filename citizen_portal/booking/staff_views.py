"""The staff "Heute / Today" page: the logged-in staff member's appointments of a day, with
"arrived" / "no-show" buttons (plain POST forms). Rules in ``services/staff_day.py``."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_login import current_user

from citizen_portal.booking.services import staff_day
from citizen_portal.core.access import has_role, roles_required
from citizen_portal.core.errors import Conflict
from citizen_portal.core.i18n import _, _l
from citizen_portal.core.schemas import day_or_none

bp = Blueprint("booking_staff", __name__, url_prefix="/mitarbeitende")


def _register_navigation(state) -> None:
    from citizen_portal.core.navigation import register_landing, register_nav_item

    register_nav_item(state.app, "booking_staff_today", _l("Heute"), lambda: url_for("booking_staff.today"),
                      roles=("staff",), order=20)
    register_nav_item(state.app, "booking_admin", _l("Terminvergabe verwalten"),
                      lambda: url_for("booking_admin.index"), roles=("service_admin",), order=60)
    # after the login: staff see today's appointments; an appointments administrator without staff role her admin
    register_landing(state.app, "staff", lambda: url_for("booking_staff.today"), order=20)
    register_landing(state.app, "service_admin", lambda: url_for("booking_admin.index"), order=60)


bp.record_once(_register_navigation)


def _chosen_day() -> date:
    """The day of ``?tag=``; today when it is missing or no date within the schema's years."""
    return day_or_none(request.values.get("tag")) or staff_day.local_today()


@bp.get("/heute")
@roles_required("staff")
def today():
    day = _chosen_day()
    result = staff_day.appointments_of_day(current_user.username, day)
    today_ = staff_day.local_today()
    return render_template(
        "citizen_portal/booking/staff/today.html", result=result, day=day, is_today=day == today_,
        day_title=format_date(day, "full"), previous_day=day - timedelta(days=1), next_day=day + timedelta(days=1),
        today=today_, allowed_actions=staff_day.allowed_actions,
    )


@bp.post("/heute/<int:appointment_id>")
@roles_required("staff")
def mark(appointment_id: int):
    day = _chosen_day()
    action = request.form.get("action", "")
    try:
        appointment = staff_day.mark(current_user.username, appointment_id, action,
                                     any_staff=has_role(current_user, "admin"))
    except Conflict as error:
        flash(str(error.message), "danger")
    else:
        texts = {"arrived": _("%(code)s: als erschienen markiert.", code=appointment.code),
                 "no_show": _("%(code)s: als nicht erschienen markiert.", code=appointment.code),
                 "reset": _("%(code)s: Markierung zurückgesetzt.", code=appointment.code)}
        flash(texts[action], "success")
    return redirect(url_for(".today", tag=day.isoformat()) + f"#termin-{appointment_id}", code=303)
