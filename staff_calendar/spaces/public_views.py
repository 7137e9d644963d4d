"""Pages of the rooms for citizens (``/raeume``): the catalogue, a room's week, the request form, the
address confirmation and the manage link. No account, German and English, no JavaScript (the captcha
works without it). Thin adapters over ``services.public_rooms`` and ``services.public_requests``."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, render_template, request, url_for
from markupsafe import Markup

from citizen_portal.core import captcha
from citizen_portal.core.errors import DomainError, Invalid
from citizen_portal.core.extensions import limiter
from citizen_portal.core.i18n import _l, current_language
from citizen_portal.core.schemas import parse_form
from staff_calendar.spaces.public_schemas import CancelInput, PublicRequestInput, WeekQuery
from staff_calendar.spaces.services import public_mails, public_requests, public_rooms
from staff_calendar.spaces.services.common import load_settings, now, today_local, week_bounds

bp = Blueprint("public_rooms", __name__, url_prefix="/raeume")
PAGE_FIELDS = frozenset({"csrf_token", captcha.WAITING_FIELD, "altcha"})
CAPTCHA_SCOPE = "public-room-request"


def rate_limit() -> str:
    return current_app.config["PUBLIC_ROOMS_RATE_LIMIT"]


def _register_navigation(state) -> None:
    from citizen_portal.core.navigation import register_nav_item

    register_nav_item(state.app, "public_rooms", _l("Räume"), lambda: url_for("public_rooms.catalogue"), order=35)
    register_nav_item(state.app, "public_rooms_admin", _l("Raumanfragen"),
                      lambda: url_for("public_rooms_admin.pending"), roles=("room_admin",), order=85)


bp.record_once(_register_navigation)


@bp.app_template_filter("paragraphs")
def paragraphs(text: str | None) -> Markup:
    """Plain text with blank lines as paragraphs (escaped)."""
    parts = [part.strip() for part in (text or "").split("\n\n") if part.strip()]
    return Markup("").join(Markup('<p class="kern-body">{}</p>').format(part) for part in parts)


@bp.get("/")
def catalogue() -> str:
    return render_template("staff_calendar/spaces/public/catalogue.html", rooms=public_rooms.public_rooms())


@bp.get("/<key>")
def room(key: str):
    room = public_rooms.public_room(key)
    try:
        query = parse_form(WeekQuery, request.args)
    except Invalid:
        query = WeekQuery()
    monday, _ = week_bounds(query.date or today_local())
    days = public_rooms.week(load_settings(), room, monday, now())
    return render_template("staff_calendar/spaces/public/room.html", room=room, days=days, monday=monday,
                           previous=monday - timedelta(days=7), next=monday + timedelta(days=7),
                           this_week=week_bounds(today_local())[0])


def _form_page(room, form: dict, errors: dict, status: int = 200, error: DomainError | None = None):
    challenge = captcha.new_challenge(CAPTCHA_SCOPE) if captcha.enabled() else None
    return render_template("staff_calendar/spaces/public/request.html", room=room, form=form, errors=errors,
                           error=error, captcha_challenge=challenge, captcha_scope=CAPTCHA_SCOPE,
                           last_day=public_rooms.last_day(load_settings(), now())), status


@bp.route("/<key>/anfragen", methods=["GET", "POST"])
@limiter.limit(rate_limit, methods=["POST"], scope="public-room-request")
def request_form(key: str):
    room = public_rooms.public_room(key)
    if request.method == "GET":
        return _form_page(room, {"date": request.args.get("date", ""), "start": request.args.get("start", ""),
                                 "end": request.args.get("end", "")}, {})
    form = request.form.to_dict()
    try:
        fields = request.form.copy()
        fields["room"] = key  # the room is the page's
        data = parse_form(PublicRequestInput, fields, ignore=PAGE_FIELDS)
        captcha.verify_submission(request.form.get("altcha"), request.form.get(captcha.WAITING_FIELD),
                                  CAPTCHA_SCOPE)
        submitted = public_requests.submit(data, current_language())
    except Invalid as exc:
        return _form_page(room, form, dict(exc.fields or {"date": exc.message}), 400)
    except DomainError as exc:
        return _form_page(room, form, {}, exc.status, error=exc)
    public_mails.confirm_address(submitted.request, submitted.token, submitted.outcomes,
                                 load_settings()["public_verify_hours"])
    return render_template("staff_calendar/spaces/public/sent.html", room=room, outcomes=submitted.outcomes)


@bp.route("/bestaetigen/<token>", methods=["GET", "POST"])
def verify(token: str):
    """GET shows a button (mail scanners follow links), POST confirms and holds the dates."""
    if request.method == "GET":
        try:
            found = public_requests.by_verify_token(token)
        except DomainError as exc:
            return render_template("staff_calendar/spaces/public/verify.html", token=None, error=exc), 404
        return render_template("staff_calendar/spaces/public/verify.html", token=token, room=found.room, error=None)
    try:
        found, outcomes = public_requests.verify(token)
    except DomainError as exc:
        return render_template("staff_calendar/spaces/public/verify.html", token=None, error=exc), exc.status
    if found.status == "approved":
        public_mails.approved(found, public_requests.new_manage_token(found.id))
    return render_template("staff_calendar/spaces/public/verified.html", request_=found, outcomes=outcomes)


@bp.get("/anfrage/<token>")
def manage(token: str):
    found = public_requests.by_manage_token(token)
    return render_template("staff_calendar/spaces/public/manage.html", request_=found, token=token,
                           cancellable=public_requests.cancellable, error=None)


@bp.post("/anfrage/<token>/absagen")
@limiter.limit(rate_limit, scope="public-room-request")
def cancel(token: str):
    found = public_requests.by_manage_token(token)
    try:
        data = parse_form(CancelInput, request.form, ignore=PAGE_FIELDS)
        cancelled = public_requests.cancel(token, data.use)
    except DomainError as exc:
        return render_template("staff_calendar/spaces/public/manage.html", request_=found, token=token,
                               cancellable=public_requests.cancellable, error=exc), exc.status
    return render_template("staff_calendar/spaces/public/manage.html", request_=public_requests.by_manage_token(token),
                           token=token, cancellable=public_requests.cancellable, error=None, cancelled=cancelled)
