"""JSON API of polls and suggestions under /api/v1 (exempt from CSRF: no cookies are needed).

Bodies are typed by ``schemas`` (the same models as the pages, so the same field messages). Errors
render as ``{"error": code, "message", "fields"}`` (``citizen_portal.core.errors``): a used code →
409 ``already_voted``, a closed poll → 409 ``poll_closed``, bad input → 400."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request, url_for

from citizen_portal.core.errors import NotFound
from citizen_portal.core.extensions import csrf, limiter
from citizen_portal.core.i18n import _l
from citizen_portal.core.schemas import parse_json

from . import schemas
from .captcha_adapter import verify_captcha
from .models import Mode
from .services import ballots, results, suggestions
from .services import polls as poll_service
from .services.common import format_code, now
from .views import is_poll_admin, mail_limit, vote_limit

bp = Blueprint("polls_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _poll_summary(poll) -> dict[str, Any]:
    return {
        "id": poll.id, "slug": poll.slug, "title": poll.title, "description": poll.description,
        "status": poll.status(now()), "mode": poll.mode, "results_visibility": poll.results_visibility,
        "opens_at": poll.opens_at.isoformat(), "closes_at": poll.closes_at.isoformat(),
        "informal": poll.anyone_may_vote, "url": url_for("polls.poll", slug=poll.slug, _external=True),
    }


@bp.get("/polls")
def poll_list():
    groups = poll_service.public_polls()
    return {"polls": [_poll_summary(p) for key in ("open", "closed") for p in groups[key]]}


def _public_poll(poll_id: int):
    poll = poll_service.get_public_poll(poll_id)
    if poll.status(now()) not in ("open", "closed"):
        raise NotFound()
    return poll


@bp.get("/polls/<int:poll_id>")
def poll_detail(poll_id: int):
    poll = _public_poll(poll_id)
    body = _poll_summary(poll)
    body["questions"] = [{
        "id": q.id, "kind": q.kind, "text": q.text, "required": q.required, "max_choices": q.max_choices,
        "options": [{"id": o.id, "label": o.label, "value": o.value} for o in q.options] if q.kind != "text" else [],
    } for q in poll.questions]
    return body


@bp.post("/polls/<int:poll_id>/ballots")
@limiter.limit(vote_limit)
def ballot_create(poll_id: int):
    poll = _public_poll(poll_id)
    ballot = parse_json(schemas.BallotInput, request.get_json(silent=True))
    if poll.anyone_may_vote:
        verify_captcha(ballot.altcha)
    token = ballot.token or (ballot.code if poll.mode == Mode.EMAIL else None)  # API clients send it as code
    check_url = url_for("polls.receipt_check", slug=poll.slug, _external=True)  # before the commit expires poll
    receipt = ballots.cast_ballot(poll.id, ballot.answers, code=ballot.code if poll.mode == Mode.CODES else None,
                                  token=token)
    return {"receipt": format_code(receipt), "check_url": check_url}, 201


@bp.get("/polls/<int:poll_id>/results")
def poll_results(poll_id: int):
    poll, ballot_count = results.public_poll_with_ballots(poll_id)  # with the version, one statement
    if poll.status(now()) not in ("open", "closed"):
        raise NotFound()
    if not poll_service.results_visible(poll, is_admin=is_poll_admin()):
        raise NotFound(_l("Die Ergebnisse dieser Umfrage sind noch nicht veröffentlicht."), code="results_hidden")
    body = results.cached(poll, "json", _results_json, ballots=ballot_count)
    return {"poll_id": poll.id, "status": poll.status(now()), **body}


def _results_json(data) -> dict[str, Any]:
    return {
        "ballots": data.ballots, "informal": data.informal,
        "questions": [{
            "id": q.question_id, "kind": q.kind, "text": q.text, "answered": q.answered,
            "options": [{"id": o.option_id, "label": o.label, "value": o.value, "votes": o.votes,
                         "percent": o.percent} for o in q.options],
            **({"average": q.average} if q.kind == "rating" else {}),
            **({"texts": q.texts} if q.kind == "text" else {}),
        } for q in data.questions],
    }


def _suggestion_json(item) -> dict[str, Any]:
    return {"id": item.id, "title": item.title, "text": item.text, "category": item.category,
            "status": item.status, "status_label": str(suggestions.STATUS_LABELS[item.status]),
            "answer": item.answer, "supporters": item.supporters, "created_at": item.created_at.isoformat(),
            "url": url_for("polls.suggestion", suggestion_id=item.id, _external=True)}


@bp.get("/suggestions")
def suggestion_list():
    return {"suggestions": [_suggestion_json(s) for s in suggestions.public_suggestions(request.args.get("status"))]}


@bp.post("/suggestions")
@limiter.limit(mail_limit)
def suggestion_create():
    data = parse_json(schemas.SuggestionInput, request.get_json(silent=True))
    verify_captcha(data.altcha)
    notification = suggestions.submit(data)
    suggestions.deliver(notification)
    return {"status": "confirmation_sent",
            "message": str(_l("Bitte bestätigen Sie Ihren Vorschlag mit dem Link aus der E-Mail."))}, 202


@bp.get("/suggestions/<int:suggestion_id>")
def suggestion_detail(suggestion_id: int):
    return _suggestion_json(suggestions.get_public_suggestion(suggestion_id))



