"""Citizen pages of fair access, without JavaScript (the captcha falls back to a waiting period):

``/termine/warteliste/<service>/eintragen`` join form → mail → ``bestaetigen/<id>?token=`` (POST
confirms) → ``eintrag/<id>?token=`` position band and leave; ``angebot/<id>?token=`` an offer (POST
accepts and books); ``<service>/losung`` a release-window request → mail → ``losung/bestaetigen/<id>``;
``aus-losung/<id>?token=`` joins the waiting list after the lottery in one click.
Thin adapter over ``waiting_list``, ``offers`` and ``lottery``; token pages are ``no-store`` and
``no-referrer``. Public writes are rate limited and need the captcha."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from citizen_portal.booking.fairness import lottery, offers, waiting_list
from citizen_portal.booking.fairness.schemas import JoinRequest
from citizen_portal.booking.models import Service
from citizen_portal.booking.schemas import NoBody
from citizen_portal.booking.services import load_service
from citizen_portal.core import captcha
from citizen_portal.core.errors import Conflict, Invalid
from citizen_portal.core.extensions import limiter
from citizen_portal.core.i18n import _l, current_language, utc_now
from citizen_portal.core.schemas import parse_form

bp = Blueprint("fairness", __name__, url_prefix="/termine/warteliste")
FORM_IGNORES = frozenset({"csrf_token", "altcha", captcha.WAITING_FIELD})
WEEKDAYS = (_l("Montag"), _l("Dienstag"), _l("Mittwoch"), _l("Donnerstag"), _l("Freitag"), _l("Samstag"),
            _l("Sonntag"))


@bp.after_request
def _private_pages(response: Response) -> Response:
    if request.args.get("token"):
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
    return response


def _token() -> str:
    return request.args.get("token", "")[:200]


def _captcha_context(scope: str) -> dict[str, Any]:
    if not captcha.enabled():
        return {"captcha_on": False}
    return {"captcha_on": True, "captcha_scope": scope, "captcha_challenge": captcha.new_challenge(scope)}


def _form_page(template: str, service: Service, kind: str, errors: dict, status: int = 200, **extra: Any):
    context = {"service": service, "errors": errors, "data": request.form, "weekdays": WEEKDAYS,
               "locations": [location for location in service.locations if location.active],
               **_captcha_context(f"fairness.{kind}:{service.key}"), **extra}
    return render_template(template, **context), status


def _parsed(service: Service, kind: str) -> tuple[JoinRequest | None, dict]:
    """The posted form and the captcha, every problem at once."""
    errors: dict = {}
    data = None
    try:
        data = parse_form(JoinRequest, request.form, ignore=FORM_IGNORES)
    except Invalid as error:
        errors.update(error.fields)
    try:
        captcha.verify_submission(request.form.get("altcha") or None, request.form.get(captcha.WAITING_FIELD),
                                  f"fairness.{kind}:{service.key}")
    except Invalid as error:
        errors.update(error.fields)
    return data, errors


@bp.route("/<service_key>/eintragen", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def join(service_key: str):
    service = load_service(service_key)
    template = "citizen_portal/booking/waiting_list/join.html"
    is_open = waiting_list.waiting_list_open(service, utc_now())
    if request.method == "GET":
        return _form_page(template, service, "join", {}, is_open=is_open)
    data, errors = _parsed(service, "join")
    if data is None or errors:
        return _form_page(template, service, "join", errors, 400, is_open=is_open)
    try:
        waiting_list.join(service.key, data, language=current_language())
    except Invalid as error:
        return _form_page(template, service, "join", error.fields, 400, is_open=is_open)
    except Conflict as error:
        return _form_page(template, service, "join", error.fields or {"service": error.message}, 409,
                          is_open=is_open)
    return render_template("citizen_portal/booking/waiting_list/check_mail.html", service=service,
                           resend_minutes=waiting_list.LINK_RESEND_MINUTES)


@bp.route("/bestaetigen/<int:entry_id>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def confirm(entry_id: int):
    token = _token()
    if request.method == "GET":
        return render_template("citizen_portal/booking/waiting_list/confirm.html", entry_id=entry_id, token=token)
    parse_form(NoBody, request.form)
    entry, manage_token = waiting_list.confirm_join(entry_id, token)
    return redirect(url_for(".status", entry_id=entry.id, token=manage_token), code=303)


@bp.get("/eintrag/<int:entry_id>")
def status(entry_id: int) -> str:
    token = _token()
    entry = waiting_list.get_entry(entry_id, token)
    ahead = waiting_list.people_ahead(entry)
    return render_template("citizen_portal/booking/waiting_list/status.html", entry=entry, token=token,
                           ahead=ahead, band=waiting_list.position_band(ahead))


@bp.post("/eintrag/<int:entry_id>/verlassen")
@limiter.limit("20 per minute")
def leave(entry_id: int) -> str:
    parse_form(NoBody, request.form)
    waiting_list.leave(entry_id, _token())
    return render_template("citizen_portal/booking/waiting_list/left.html")


@bp.route("/angebot/<int:offer_id>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def offer(offer_id: int):
    token = _token()
    found = offers.get_offer(offer_id, token)
    page = "citizen_portal/booking/waiting_list/offer.html"
    if request.method == "GET":
        return render_template(page, offer=found, token=token, now=utc_now())
    parse_form(NoBody, request.form)
    try:
        result = offers.accept(offer_id, token)
    except Conflict as error:
        return render_template(page, offer=found, token=token, now=utc_now(), error=error), 409
    return redirect(url_for("booking.booked", code=result.appointment.code, token=result.manage_token), code=303)


@bp.route("/<service_key>/losung", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def lottery_request(service_key: str):
    service = load_service(service_key)
    now = utc_now()
    template = "citizen_portal/booking/waiting_list/lottery.html"
    extra = {"window": lottery.open_window(service, now), "next_window": lottery.next_window(service, now)}
    if request.method == "GET":
        return _form_page(template, service, "lottery", {}, **extra)
    data, errors = _parsed(service, "lottery")
    if data is None or errors:
        return _form_page(template, service, "lottery", errors, 400, **extra)
    try:
        lottery.request_time(service.key, data, language=current_language())
    except Invalid as error:
        return _form_page(template, service, "lottery", error.fields, 400, **extra)
    except Conflict as error:
        return _form_page(template, service, "lottery", error.fields or {"service": error.message}, 409, **extra)
    return render_template("citizen_portal/booking/waiting_list/check_mail.html", service=service, lottery=True,
                           resend_minutes=waiting_list.LINK_RESEND_MINUTES)


@bp.route("/losung/bestaetigen/<int:request_id>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def lottery_confirm(request_id: int):
    token = _token()
    page = "citizen_portal/booking/waiting_list/lottery_confirm.html"
    if request.method == "GET":
        return render_template(page, request_id=request_id, token=token)
    parse_form(NoBody, request.form)
    try:
        row = lottery.confirm_request(request_id, token)
    except Conflict as error:
        return render_template(page, request_id=request_id, token=token, error=error), 409
    return render_template(page, request_id=request_id, token=token, confirmed=row)


@bp.route("/aus-losung/<int:request_id>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def join_from_lottery(request_id: int):
    token = _token()
    if request.method == "GET":
        return render_template("citizen_portal/booking/waiting_list/from_lottery.html", request_id=request_id,
                               token=token)
    parse_form(NoBody, request.form)
    entry, manage_token = lottery.join_from_lottery(request_id, token)
    return redirect(url_for(".status", entry_id=entry.id, token=manage_token), code=303)
