"""Citizen appointment booking in the browser, without JavaScript and without an account.

Flow (every GET step is a bookmarkable URL, only booking, cancelling, moving and confirming POST):

``/termine/`` services → ``/termine/<service>/`` locations → ``/termine/<service>/<location>/?monat=YYYY-MM``
days (a list grouped by week, plus a month table) → ``/termine/<service>/<location>/<YYYY-MM-DD>`` times →
``/termine/<service>/<location>/buchen?start=<ISO>`` form → ``/termine/gebucht/<code>?token=…`` done.

Self-service (links from the mails): ``/termine/verwalten/<code>?token=<manage token>`` (cancel, move)
and ``/termine/bestaetigen/<code>?token=<confirm token>`` (confirm a hold). Pages that carry a token
are sent with ``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store``.

Thin adapter over ``citizen_portal.booking.services``; the rules live there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from citizen_portal.booking import day_lists, schemas
from citizen_portal.booking import services as booking
from citizen_portal.booking.day_lists import day_label, group_by_week, month_end, month_of, month_weeks, weekday_names
from citizen_portal.booking.models import PENDING, Appointment, Location, Service
from citizen_portal.booking.services.office import office_info
from citizen_portal.booking.services.recovery import held_by_confirm_token
from citizen_portal.core import captcha
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import limiter
from citizen_portal.core.i18n import _, _l, current_language, ngettext, site_timezone, utc_now
from citizen_portal.core.schemas import parse, parse_form

bp = Blueprint("booking", __name__, url_prefix="/termine")


def _register_navigation(state) -> None:
    from citizen_portal.core.navigation import register_nav_item

    register_nav_item(state.app, "booking", _l("Termine"), lambda: url_for("booking.index"), order=10)


bp.record_once(_register_navigation)

TOKEN_ENDPOINTS = {"booking.booked", "booking.manage", "booking.cancel", "booking.move", "booking.confirm_hold"}


@bp.after_request
def _private_pages(response: Response) -> Response:
    """Pages that carry a token in their URL must not leak it (Referer) nor be cached."""
    if request.endpoint in TOKEN_ENDPOINTS:
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- helpers


def _form_scope(service: Service, location: Location, action_start: datetime) -> str:
    """The captcha scope of one booking form: its endpoint, service, location and the time in its
    URL (a challenge or waiting token of this form is refused at any other)."""
    return f"booking.book:{service.key}:{location.key}:{action_start.astimezone(UTC).isoformat()}"


def _client() -> booking.Client:
    """The browser session and client address the hold limits count by."""
    return booking.Client(session=captcha.browser_session(), address=request.remote_addr)


def _captcha_context(scope: str) -> dict[str, Any]:
    if not captcha.enabled():
        return {"captcha_on": False}
    return {
        "captcha_on": True,
        "captcha_scope": scope,
        "captcha_challenge": captcha.new_challenge(scope, cost=booking.proof_of_work_cost()),
        "captcha_noscript_note": ngettext(
            "Ihr Browser führt kein JavaScript aus. Zum Schutz vor automatisierten Buchungen können Sie das "
            "Formular deshalb erst %(num)s Sekunde nach dem Laden absenden, und Sie bestätigen den Termin über "
            "den Link in der E-Mail. Füllen Sie es in Ruhe aus.",
            "Ihr Browser führt kein JavaScript aus. Zum Schutz vor automatisierten Buchungen können Sie das "
            "Formular deshalb erst %(num)s Sekunden nach dem Laden absenden, und Sie bestätigen den Termin über "
            "den Link in der E-Mail. Füllen Sie es in Ruhe aus.", current_app.config["CAPTCHA_WAIT_SECONDS"]),
    }


def _today() -> date:
    return utc_now().astimezone(site_timezone()).date()


def _last_bookable_day(service: Service) -> date:
    return _today() + timedelta(days=service.horizon_days)


def _chosen_month(service: Service, location: Location) -> date:
    """The month asked for (``?monat=``); without one, the month of the first day that still has a
    free time (searched up to 62 days ahead), so the page never opens on a month with nothing left
    to book (31 December in the evening, a closure at the end of a month)."""
    today = _today()
    if request.args.get("monat"):
        return month_of(request.args.get("monat"), today)
    last = min(today + timedelta(days=booking.MAX_RANGE_DAYS - 1), _last_bookable_day(service))
    counts = booking.days_with_slots(service.key, today, last, location_key=location.key) if last >= today else {}
    return min(counts, default=today).replace(day=1)


def _day_window(service: Service, month: date) -> tuple[date, date] | None:
    """The bookable days of ``month``: not before today, not after the horizon."""
    first = max(month, _today())
    last = min(month_end(month), _last_bookable_day(service))
    return (first, last) if first <= last else None


def _days_context(service: Service, location: Location, month: date) -> dict[str, Any]:
    today = _today()
    window = _day_window(service, month)
    counts = (booking.days_with_slots(service.key, window[0], window[1], location_key=location.key)
              if window else {})
    this_month = today.replace(day=1)
    previous_month = (month - timedelta(days=1)).replace(day=1)
    next_month = month_end(month) + timedelta(days=1)
    return {
        "month": month,
        "month_label": format_date(month, "LLLL yyyy"),
        "counts": counts,
        "weeks": group_by_week(counts),
        "grid": month_weeks(month),
        "weekday_names": weekday_names(),
        "previous_month": previous_month if previous_month >= this_month else None,
        "next_month": next_month if next_month <= _last_bookable_day(service) else None,
        "day_label": day_label,
    }


def _slots_of_day(service: Service, location: Location, day: date) -> list[booking.Slot]:
    if day < _today() or day > _last_bookable_day(service):
        return []
    return booking.find_slots(service.key, day, day, location_key=location.key)


def _alternatives(error: Conflict) -> list[datetime]:
    """Start times (aware) of the alternatives a ``slot_taken`` conflict carries."""
    return [datetime.fromisoformat(item["start"]) for item in error.extra.get("alternatives", [])]


def _token() -> str:
    token = request.values.get("token", "")
    if not token:
        raise NotFound(_l("Diesen Termin gibt es nicht, oder der Link ist nicht mehr gültig."))
    return token


# ---------------------------------------------------------------- citizen flow


@bp.get("/")
def index() -> str:
    return render_template("citizen_portal/booking/services.html", services=booking.list_services())


@bp.get("/datenschutz")
def privacy() -> str:
    settings = booking.booking_settings()
    return render_template("citizen_portal/booking/privacy.html", settings=settings)


@bp.get("/<service_key>/")
def locations(service_key: str):
    service = booking.load_service(service_key)
    offered = [location for location in service.locations if location.active]
    if len(offered) == 1:  # nothing to choose: straight to the days
        return redirect(url_for(".days", service_key=service.key, location_key=offered[0].key), code=303)
    return render_template("citizen_portal/booking/locations.html", service=service, locations=offered)


@bp.get("/<service_key>/<location_key>/")
@limiter.limit("60 per minute")
def days(service_key: str, location_key: str) -> str:
    service = booking.load_service(service_key)
    location = booking.offered_location(service, location_key)
    month = _chosen_month(service, location)
    return render_template("citizen_portal/booking/days.html", service=service, location=location,
                           next_free=day_lists.next_free_slot(service, location, _today(), _last_bookable_day(service)),
                           single_location=sum(1 for item in service.locations if item.active) == 1,
                           **_days_context(service, location, month))


@bp.get("/<service_key>/<location_key>/<day>")
@limiter.limit("60 per minute")
def times(service_key: str, location_key: str, day: str) -> str:
    service = booking.load_service(service_key)
    location = booking.offered_location(service, location_key)
    try:
        chosen = date.fromisoformat(day)
    except ValueError:
        raise NotFound() from None
    slots = _slots_of_day(service, location, chosen)
    return render_template("citizen_portal/booking/times.html", service=service, location=location, day=chosen,
                           slots=slots, day_title=day_label(chosen))


BOOKING_FORM_IGNORES = frozenset({"csrf_token", "start"})  # the time is parsed on its own (``_chosen_start``)


def _typed_in(form: MultiDict) -> dict[str, Any]:
    """What the citizen typed on the booking form, shown again as typed (never judged here)."""
    return {**{name: (form.get(name) or "").strip() for name in ("name", "email", "phone", "note")},
            "privacy_consent": bool(form.get("privacy_consent"))}


def _render_form(service: Service, location: Location, start: datetime, errors: dict[str, Any], status: int = 200,
                 alternatives: list[datetime] | None = None, message: Any = None):
    return render_template(
        "citizen_portal/booking/form.html", service=service, location=location, start=start,
        data=_typed_in(request.form), errors={key: str(value) for key, value in errors.items()},
        alternatives=alternatives or [], message=message,
        retention_days=booking.booking_settings().erase_after_days,
        **_captcha_context(_form_scope(service, location, start)),
    ), status


def _chosen_start() -> datetime | None:
    """The time to book: the form's choice (an alternative after a 409) wins over the URL's
    ``?start=``; ``None`` when neither is a time (an old or mangled link)."""
    try:
        return parse(schemas.ChosenTime, {"start": request.form.get("start") or request.args.get("start")}).start
    except Invalid:
        return None


@bp.route("/<service_key>/<location_key>/buchen", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def book(service_key: str, location_key: str):
    service = booking.load_service(service_key)
    location = booking.offered_location(service, location_key)
    start = _chosen_start()
    if start is None:
        return redirect(url_for(".days", service_key=service.key, location_key=location.key), code=303)
    if request.method == "GET":
        if not booking.is_offered(service.key, location.key, start):
            # an old link or a time that passed the lead time: never offer what the booking refuses
            flash(_("Diese Uhrzeit ist nicht mehr frei. Bitte wählen Sie eine andere."), "warning")
            day = start.astimezone(site_timezone()).date()
            return redirect(url_for(".times", service_key=service.key, location_key=location.key,
                                    day=day.isoformat()), code=303)
        return _render_form(service, location, start, {})
    return _submit_booking(service, location, start)


def _posted_scope(service: Service, location: Location, start: datetime) -> str:
    """The scope of the form that was posted: the time in its URL (the form's own choice may be an
    alternative offered after a 409)."""
    try:
        action_start = parse(schemas.ChosenTime, {"start": request.args.get("start")}).start
    except Invalid:
        action_start = start
    return _form_scope(service, location, action_start)


def _submit_booking(service: Service, location: Location, start: datetime):
    errors: dict[str, Any] = {}
    form: schemas.BookingForm | None = None
    try:
        form = parse_form(schemas.BookingForm, request.form, ignore=BOOKING_FORM_IGNORES)
    except Invalid as error:
        errors.update(error.fields)
    captcha_method = None
    try:  # checked even when a field is wrong, so the page names every problem at once
        captcha_method = captcha.verify_submission(request.form.get("altcha") or None,
                                                   request.form.get(captcha.WAITING_FIELD),
                                                   _posted_scope(service, location, start))
    except Invalid as error:
        errors.update(error.fields)
    if form is None or errors:
        return _render_form(service, location, start, errors, status=400)
    try:
        result = booking.book(booking.BookingRequest(
            service.key, location.key, start, form, language=current_language(),
            confirm_by_email=captcha_method == captcha.WAITING_PERIOD, client=_client(),
        ))
    except Invalid as error:
        return _render_form(service, location, start, error.fields or {"start": error.message}, status=400)
    except Conflict as error:
        if error.code == "slot_taken":
            return _render_form(service, location, start, {}, status=409, alternatives=_alternatives(error),
                                message=error.message)
        return _render_form(service, location, start, error.fields or {"start": error.message}, status=409)
    return redirect(url_for(".booked", code=result.appointment.code, token=result.manage_token), code=303)


@bp.get("/gebucht/<code>")
def booked(code: str) -> str:
    appointment = booking.get_by_token(code, _token())
    return render_template("citizen_portal/booking/booked.html", appointment=appointment,
                           pending=appointment.status == PENDING, settings=booking.booking_settings(),
                           office=office_info(appointment.service, appointment.location))


# ---------------------------------------------------------------- holds


@bp.route("/bestaetigen/<code>", methods=["GET", "POST"])
def confirm_hold(code: str):
    token = _token()
    if request.method == "GET":
        appointment = held_by_confirm_token(code, token)
        return render_template("citizen_portal/booking/confirm_hold.html", code=appointment.code, token=token,
                               appointment=appointment)
    parse_form(schemas.NoBody, request.form)
    try:
        result = booking.confirm(code, token)
    except Conflict as error:
        return render_template("citizen_portal/booking/confirm_hold.html", code=booking.normalize_code(code),
                               token=token, error=error, alternatives=_alternatives(error)), 409
    return redirect(url_for(".booked", code=result.appointment.code, token=result.manage_token), code=303)


# ---------------------------------------------------------------- manage: show, cancel, move


def _manage_context(appointment: Appointment, token: str) -> dict[str, Any]:
    return {"appointment": appointment, "token": token, "changeable": booking.changeable(appointment, now=utc_now()),
            "office": office_info(appointment.service, appointment.location)}


@bp.get("/verwalten/<code>")
def manage(code: str) -> str:
    token = _token()
    appointment = booking.get_by_token(code, token)
    return render_template("citizen_portal/booking/manage.html", **_manage_context(appointment, token))


@bp.route("/verwalten/<code>/absagen", methods=["GET", "POST"])
def cancel(code: str):
    token = _token()
    appointment = booking.get_by_token(code, token)
    if request.method == "POST":
        parse_form(schemas.NoBody, request.form)
        try:
            booking.cancel(code, token)
        except Conflict as error:
            return render_template("citizen_portal/booking/cancel.html", error=error,
                                   **_manage_context(appointment, token)), 409
        return render_template("citizen_portal/booking/cancelled.html", appointment=appointment)
    return render_template("citizen_portal/booking/cancel.html", error=None, **_manage_context(appointment, token))


@bp.route("/verwalten/<code>/verschieben", methods=["GET", "POST"])
def move(code: str):
    token = _token()
    appointment = booking.get_by_token(code, token)
    service, location = appointment.service, appointment.location
    context = _manage_context(appointment, token)
    day_value = request.values.get("tag")
    if request.method == "POST":
        new_start: datetime | None = None
        try:
            new_start = parse_form(schemas.ChosenTime, request.form).start
            booking.move(code, token, new_start)
        except Invalid as error:
            day = new_start.astimezone(site_timezone()).date() if new_start else _parse_day(day_value)
            return _render_move_times(context, day, errors={k: str(v) for k, v in error.fields.items()}), 400
        except Conflict as error:
            day = new_start.astimezone(site_timezone()).date()
            return _render_move_times(context, day, conflict=error, alternatives=_alternatives(error)), 409
        return redirect(url_for(".manage", code=appointment.code, token=token, verschoben=1), code=303)
    if day_value:
        return _render_move_times(context, _parse_day(day_value))
    month = _chosen_month(service, location)
    return render_template("citizen_portal/booking/move_days.html", service=service, location=location,
                           **context, **_days_context(service, location, month))


def _parse_day(value: str | None) -> date:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        abort(404)


def _render_move_times(context: dict[str, Any], day: date, errors: dict[str, str] | None = None,
                       conflict: Conflict | None = None, alternatives: list[datetime] | None = None) -> str:
    appointment: Appointment = context["appointment"]
    slots = [slot for slot in _slots_of_day(appointment.service, appointment.location, day)
             if slot.start != appointment.start_at]
    return render_template("citizen_portal/booking/move_times.html", day=day, day_title=day_label(day), slots=slots,
                           errors=errors or {}, conflict=conflict, alternatives=alternatives or [], **context)
