"""Citizen pages under /beteiligung: polls (vote, receipt, results) and suggestions.

Thin adapters: parse with ``schemas`` (the same models as the JSON API), call ``services``, render.
Every page works without JavaScript; forms re-render with an error summary on ``Invalid`` (status 400), a ``Conflict``
(used code, closed poll) renders the poll page with the message (status 409). A cast ballot
redirects (303) to the receipt page, which a reload shows again (see "the receipt after voting")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    get_template_attribute,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from citizen_portal.core.access import has_role
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import limiter
from citizen_portal.core.i18n import _l, localized
from citizen_portal.core.navigation import register_nav_item
from citizen_portal.core.schemas import parse_form

from . import schemas
from .captcha_adapter import captcha_challenge, verify_captcha_form
from .models import SUGGESTION_STATUSES, Mode
from .services import ballots, exports, participation, results, suggestions
from .services import polls as poll_service
from .services.common import format_code, now

bp = Blueprint("polls", __name__, url_prefix="/beteiligung")
bp.record_once(lambda state: register_nav_item(state.app, "polls", _l("Beteiligung"), "/beteiligung", order=30))


def vote_limit() -> str:
    return current_app.config["POLLS_VOTE_RATE_LIMIT"]


def mail_limit() -> str:
    return current_app.config["POLLS_MAIL_RATE_LIMIT"]


def is_poll_admin() -> bool:
    return bool(current_user.is_authenticated and has_role(current_user, "poll_admin"))


@bp.app_template_filter("code_format")
def _code_format(code: str) -> str:
    return format_code(code)


@bp.get("")
@bp.get("/")
def index() -> str:
    return render_template("polls/index.html", groups=poll_service.public_polls(), now=now())


def _render_poll(poll, *, status: int = 200, errors: dict | None = None, answers: dict | None = None,
                 message: Any = None, code: str = "", token: str | None = None, email: str = "") -> tuple[str, int]:
    moment = now()
    token_valid = poll.mode == Mode.EMAIL and participation.vote_token(poll, token) is not None
    return render_template(
        "polls/poll.html", poll=poll, poll_status=poll.status(moment), errors=errors or {},
        answers=answers or {}, message=message, code=code, token=token if token_valid else None,
        token_given=bool(token), email=email, results_visible=poll_service.results_visible(
            poll, is_admin=is_poll_admin(), now=moment),
        captcha=captcha_challenge() if poll.anyone_may_vote else None,
    ), status


@bp.get("/<slug>")
def poll(slug: str):
    poll = poll_service.get_public_poll(slug)
    return _render_poll(poll, token=request.args.get("t"))


@bp.post("/<slug>")
@limiter.limit(vote_limit)
def vote(slug: str):
    poll = poll_service.get_public_poll(slug)
    answers = schemas.answers_from_form(request.form)
    code = request.form.get("code", "")
    token = request.form.get("t") or None
    try:
        ballot = schemas.ballot_from_form(request.form)
        if poll.anyone_may_vote:
            verify_captcha_form(request.form)
        receipt = ballots.cast_ballot(poll.id, ballot.answers, code=ballot.code, token=ballot.token)
    except Invalid as exc:
        return _render_poll(poll, status=400, errors=exc.fields or {"answers": exc.message}, answers=answers,
                            code=code, token=token)
    except Conflict as exc:
        return _render_poll(poll, status=409, message=exc.message, answers=answers, code=code, token=token)
    session[RECEIPT_KEY] = {"poll": poll.id, "receipt": receipt,
                            "until": int((now() + RECEIPT_LIFETIME).timestamp())}
    return redirect(url_for("polls.receipt", slug=poll.slug), code=303)


# --- the receipt after voting (post/redirect/get) --------------------------------------------------
#
# The receipt code is kept for a short while in the voter's own session (the cookie Flask signs with
# the app secret), so reloading the receipt page shows it again. It is never in a URL (history,
# logs, Referer) and never stored on the server: receipts are stored only as hashes, with no link to
# a ballot, and the session entry holds nothing but poll, code and expiry. Another browser (another
# session) sees nothing.

RECEIPT_KEY = "polls_receipt"
RECEIPT_LIFETIME = timedelta(minutes=30)


def _session_receipt(poll) -> tuple[str, datetime]:
    """The receipt this browser got for ``poll`` and until when it is shown, or NotFound."""
    entry = session.get(RECEIPT_KEY)
    if isinstance(entry, dict) and entry.get("poll") == poll.id and isinstance(entry.get("receipt"), str):
        until = datetime.fromtimestamp(int(entry.get("until") or 0), UTC)
        if now() < until:
            return entry["receipt"], until
    raise NotFound(_l("In diesem Browser ist keine Quittung (mehr) gespeichert."))


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<slug>/ihre-quittung")
def receipt(slug: str):
    poll = poll_service.get_public_poll(slug)
    try:
        code, until = _session_receipt(poll)
    except NotFound:
        return _private(make_response(render_template("polls/receipt_missing.html", poll=poll), 404))
    return _private(make_response(render_template(
        "polls/receipt.html", poll=poll, receipt=code, until=until,
        results_visible=poll_service.results_visible(poll, is_admin=is_poll_admin()))))


@bp.get("/<slug>/ihre-quittung.txt")
def receipt_download(slug: str) -> Response:
    poll = poll_service.get_public_poll(slug)
    code, _until = _session_receipt(poll)
    check_url = current_app.config["BASE_URL"].rstrip("/") + url_for("polls.receipt_check", slug=poll.slug)
    body = render_template("polls/receipt.txt", poll=poll, receipt=code, check_url=check_url)
    return _private(Response(body, mimetype="text/plain", headers={
        "Content-Disposition": f'attachment; filename="quittung-{poll.slug}.txt"'}))


@bp.post("/<slug>/ihre-quittung/entfernen")
def receipt_forget(slug: str):
    poll = poll_service.get_public_poll(slug)
    session.pop(RECEIPT_KEY, None)
    return redirect(url_for("polls.poll", slug=poll.slug), code=303)


@bp.post("/<slug>/link")
@limiter.limit(mail_limit)
def request_link(slug: str):
    poll = poll_service.get_public_poll(slug)
    try:
        data = parse_form(schemas.VoteLinkInput, request.form)
        link = participation.request_vote_link(poll, data.email)
    except Invalid as exc:
        return _render_poll(poll, status=400, errors=exc.fields, email=request.form.get("email", ""))
    except Conflict as exc:
        return _render_poll(poll, status=409, message=exc.message)
    participation.send_vote_link(poll, link)
    return render_template("polls/link_sent.html", poll=poll)


@bp.route("/<slug>/quittung", methods=["GET", "POST"])
@limiter.limit(vote_limit, methods=["POST"])
def receipt_check(slug: str):
    poll = poll_service.get_public_poll(slug)
    checked = None
    errors: dict = {}
    receipt = (request.form.get("receipt") or request.args.get("r") or "").strip()
    if request.method == "POST" or receipt:
        if not receipt:
            errors["receipt"] = _l("Bitte geben Sie Ihren Quittungscode ein.")
        else:
            checked = ballots.receipt_status(poll, receipt)
    return render_template("polls/receipt_check.html", poll=poll, checked=checked, receipt=receipt,
                           errors=errors), 400 if errors else 200


@bp.get("/<slug>/quittungen.txt")
def receipt_list(slug: str) -> Response:
    poll = poll_service.get_public_poll(slug)
    body = "\n".join(ballots.receipt_hashes(poll)) + "\n"
    return Response(body, mimetype="text/plain", headers={"Cache-Control": "no-store"})


def _visible_poll(slug: str):
    """The poll whose results this visitor may see (live / after close / admins only), else 404,
    and its ballot count (the results' version), read in one statement."""
    poll, ballot_count = results.public_poll_with_ballots(slug)
    if not poll_service.results_visible(poll, is_admin=is_poll_admin(), ballots=ballot_count):
        raise NotFound(_l("Die Ergebnisse dieser Umfrage sind noch nicht veröffentlicht."))
    return poll, ballot_count


def _results_fragment(data) -> Any:
    return get_template_attribute("polls/_macros.html", "results_block")(data)


@bp.get("/<slug>/ergebnisse")
def poll_results(slug: str) -> str:
    poll, ballot_count = _visible_poll(slug)  # visibility first, then the cache
    fragment = results.cached(poll, "html", _results_fragment, ballots=ballot_count)
    return render_template("polls/results.html", poll=poll, results_html=fragment, poll_status=poll.status(now()))


@bp.get("/<slug>/ergebnisse.<any(csv, ods):fmt>")
def results_export(slug: str, fmt: str) -> Response:
    poll, _ballots = _visible_poll(slug)
    return export_response(poll, results.poll_results(poll.id), fmt)


def export_response(poll, data, fmt: str) -> Response:
    rows = exports.result_rows(data)
    if fmt == "csv":
        body, mimetype = exports.to_csv(rows), "text/csv; charset=utf-8"
    else:
        body, mimetype = exports.to_ods(rows, localized(poll.title)), "application/vnd.oasis.opendocument.spreadsheet"
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="ergebnisse-{poll.slug}.{fmt}"'})


# --- suggestions -----------------------------------------------------------------------------

@bp.get("/ideen")
def suggestion_list() -> str:
    status = request.args.get("status")
    return render_template("polls/suggestions/index.html", items=suggestions.public_suggestions(status),
                           status=status if status in SUGGESTION_STATUSES else None,
                           labels=suggestions.STATUS_LABELS)


@bp.route("/ideen/neu", methods=["GET", "POST"])
@limiter.limit(mail_limit, methods=["POST"])
def suggestion_new():
    form: dict = {}
    errors: dict = {}
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            data = parse_form(schemas.SuggestionInput, request.form, ignore=schemas.PAGE_FIELDS)
            verify_captcha_form(request.form)
            notification = suggestions.submit(data)
        except Invalid as exc:
            errors = exc.fields
        else:
            suggestions.deliver(notification)
            return render_template("polls/suggestions/sent.html", what="suggest")
    return render_template("polls/suggestions/new.html", form=form, errors=errors,
                           captcha=captcha_challenge()), 400 if errors else 200


@bp.get("/ideen/<int:suggestion_id>")
def suggestion(suggestion_id: int) -> str:
    item = suggestions.get_public_suggestion(suggestion_id)
    return render_template("polls/suggestions/detail.html", item=item, labels=suggestions.STATUS_LABELS,
                           errors={}, email="", captcha=captcha_challenge())


@bp.post("/ideen/<int:suggestion_id>/unterstuetzen")
@limiter.limit(mail_limit)
def suggestion_support(suggestion_id: int):
    item = suggestions.get_public_suggestion(suggestion_id)
    try:
        data = parse_form(schemas.SupportInput, request.form, ignore=schemas.PAGE_FIELDS)
        verify_captcha_form(request.form)
        notification = suggestions.request_support(suggestion_id, data.email)
    except Invalid as exc:
        return render_template("polls/suggestions/detail.html", item=item, labels=suggestions.STATUS_LABELS,
                               errors=exc.fields, email=request.form.get("email", ""),
                               captcha=captcha_challenge()), 400
    suggestions.deliver(notification)
    return render_template("polls/suggestions/sent.html", what="support", item=item)


@bp.route("/ideen/bestaetigen/<token>", methods=["GET", "POST"])
def suggestion_confirm(token: str):
    """GET shows a button (mail scanners follow links), POST confirms."""
    purpose = suggestions.peek_token(token)
    if request.method == "GET":
        return render_template("polls/suggestions/confirm.html", token=token, purpose=purpose), (
            200 if purpose else 404)
    try:
        item = suggestions.confirm(token)
    except Conflict as exc:
        return render_template("polls/suggestions/confirm.html", token=token, purpose=None, message=exc.message), 409
    return render_template("polls/suggestions/confirmed.html", purpose=purpose, item=item)
