"""Never a dead end, and the calendar file: pages for a citizen who lost the mail.

``/termine/verwalten/``: booking number + e-mail address; the manage link is sent to that address
(``services.recovery.send_manage_link``, after the response); the answer is the same page, in the
same time, whether or not a booking matched. ``POST /termine/gebucht/<code>/erneut-senden?token=``:
a pending hold's confirmation link again. ``/termine/kalender/<code>.ics?token=``: "In den Kalender
eintragen". All three are rate-limited per client (``limits.lookup_limit``); pages with a token are
never cached nor leak it.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from citizen_portal.booking import schemas
from citizen_portal.booking.limits import lookup_limit
from citizen_portal.booking.services import get_by_token
from citizen_portal.booking.services.notifications import calendar_file
from citizen_portal.booking.services.recovery import resend_confirmation, send_manage_link
from citizen_portal.core.after_response import after_response
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.i18n import _, _l
from citizen_portal.core.schemas import parse_form

bp = Blueprint("booking_recovery", __name__, url_prefix="/termine")


@bp.after_request
def _private(response: Response) -> Response:
    if request.endpoint in {"booking_recovery.calendar", "booking_recovery.resend"}:
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
    return response


def _token() -> str:
    token = request.values.get("token", "")
    if not token:
        raise NotFound(_l("Diesen Termin gibt es nicht, oder der Link ist nicht mehr gültig."))
    return token


@bp.route("/verwalten/", methods=["GET", "POST"])
@lookup_limit
def lookup():
    """The form, and after a valid post always the same answer (nothing is revealed)."""
    typed = {name: (request.form.get(name) or "").strip() for name in ("code", "email")}
    if request.method == "GET":
        return render_template("citizen_portal/booking/lookup.html", data=typed, errors={}, sent=False)
    try:
        form = parse_form(schemas.Lookup, request.form, ignore=frozenset({"csrf_token"}))
    except Invalid as error:
        return render_template("citizen_portal/booking/lookup.html", data=typed, sent=False,
                               errors={key: str(value) for key, value in error.fields.items()}), 400
    after_response(send_manage_link, form.code, form.email)  # its duration must not tell whether it matched
    return render_template("citizen_portal/booking/lookup.html", data={}, errors={}, sent=True)


@bp.post("/gebucht/<code>/erneut-senden")
@lookup_limit
def resend(code: str) -> Response:
    token = _token()
    parse_form(schemas.NoBody, request.form, ignore=frozenset({"csrf_token", "token"}))
    try:
        appointment = resend_confirmation(code, token)
    except Conflict as error:
        flash(str(error.message), "warning")
        return redirect(url_for("booking.manage", code=code, token=token), code=303)
    flash(_("Wir haben Ihnen die E-Mail mit dem Bestätigungslink erneut geschickt. Der vorige Link gilt nicht mehr."),
          "success")
    return redirect(url_for("booking.booked", code=appointment.code, token=token), code=303)


@bp.get("/kalender/<code>.ics")
@lookup_limit
def calendar(code: str) -> Response:
    token = _token()
    appointment = get_by_token(code, token)
    response = Response(calendar_file(appointment, token), mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'attachment; filename="termin.ics"'
    return response
