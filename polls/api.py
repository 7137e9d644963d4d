"""JSON API of polls and suggestions under /api/v1 (exempt from CSRF: no cookies are needed).

Every view declares itself with ``citizen_portal.core.api.operation``; bodies are typed by
``schemas`` (the same models as the pages, so the same field messages), answers by ``api_schemas``.
Errors are problem details (``citizen_portal.core.errors``): a used code → 409 ``already_voted``,
a closed poll → 409 ``poll_closed``, bad input → 400."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for

from citizen_portal.core.api import Problem, operation
from citizen_portal.core.errors import NotFound
from citizen_portal.core.extensions import csrf, limiter
from citizen_portal.core.i18n import _l

from . import schemas
from .api_schemas import (
    PollDetailOut,
    PollListOut,
    PollOut,
    ReceiptOut,
    ResultsOut,
    SuggestionAcceptedOut,
    SuggestionListOut,
    SuggestionOut,
)
from .captcha_adapter import verify_captcha
from .services import ballots, results, suggestions
from .services import polls as poll_service
from .services.common import format_code, now
from .views import is_poll_admin, mail_limit, vote_limit

bp = Blueprint("polls_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
POLLS, SUGGESTIONS = ("polls",), ("suggestions",)


def _poll_summary(poll) -> dict[str, Any]:
    return {
        "id": poll.id, "slug": poll.slug, "title": poll.title, "description": poll.description,
        "status": poll.status(now()), "mode": poll.mode, "results_visibility": poll.results_visibility,
        "opens_at": poll.opens_at.isoformat(), "closes_at": poll.closes_at.isoformat(),
        "informal": poll.anyone_may_vote, "url": url_for("polls.poll", slug=poll.slug, _external=True),
    }


@operation(bp, "GET", "/polls", summary=_l("Umfragen auflisten"), scope="polls.read",
           description=_l("Die laufenden und die beendeten öffentlichen Umfragen."),
           responses={200: PollListOut}, tags=POLLS, paginated="polls")
def poll_list() -> PollListOut:
    groups = poll_service.public_polls()
    return PollListOut(polls=[PollOut(**_poll_summary(p)) for key in ("open", "closed") for p in groups[key]])


def _public_poll(poll_id: int):
    poll = poll_service.get_public_poll(poll_id)
    if poll.status(now()) not in ("open", "closed"):
        raise NotFound()
    return poll


@operation(bp, "GET", "/polls/<int:poll_id>", summary=_l("Umfrage mit Fragen anzeigen"), scope="polls.read",
           responses={200: PollDetailOut, 404: Problem}, tags=POLLS)
def poll_detail(poll_id: int) -> PollDetailOut:
    poll = _public_poll(poll_id)
    return PollDetailOut.model_validate({**_poll_summary(poll), "questions": [{
        "id": q.id, "kind": q.kind, "text": q.text, "required": q.required, "max_choices": q.max_choices,
        "options": [{"id": o.id, "label": o.label, "value": o.value} for o in q.options] if q.kind != "text" else [],
    } for q in poll.questions]})


@operation(bp, "POST", "/polls/<int:poll_id>/ballots", summary=_l("Stimme abgeben"), scope="polls.manage",
           description=_l("Die Antworten nach Frage-ID; im Code-Modus mit dem Einladungscode, im E-Mail-Modus "
                          "mit dem Token des Links als code; offene Umfragen brauchen das Captcha."),
           body=schemas.BallotInput, responses={201: ReceiptOut, 404: Problem, 409: Problem}, tags=POLLS,
           limits=(limiter.limit(vote_limit),))
def ballot_create(poll_id: int, body: schemas.BallotInput):
    cast = ballots.cast_public_ballot(poll_id, body.answers, code=body.code, token=body.token,
                                      verify_captcha=lambda: verify_captcha(body.altcha))
    return ReceiptOut(receipt=format_code(cast.receipt),
                      check_url=url_for("polls.receipt_check", slug=cast.slug, _external=True)), 201


@operation(bp, "GET", "/polls/<int:poll_id>/results", summary=_l("Ergebnisse einer Umfrage"), scope="polls.read",
           description=_l("404 results_hidden, solange die Ergebnisse nicht veröffentlicht sind."),
           responses={200: ResultsOut, 404: Problem}, tags=POLLS)
def poll_results(poll_id: int) -> ResultsOut:
    poll, ballot_count = results.public_poll_with_ballots(poll_id)  # with the version, one statement
    if poll.status(now()) not in ("open", "closed"):
        raise NotFound()
    if not poll_service.results_visible(poll, is_admin=is_poll_admin(), ballots=ballot_count):
        raise NotFound(_l("Die Ergebnisse dieser Umfrage sind noch nicht veröffentlicht."), code="results_hidden")
    body = results.cached(poll, "json", _results_json, ballots=ballot_count)
    return ResultsOut.model_validate({"poll_id": poll.id, "status": poll.status(now()), **body})


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


def _suggestion_out(item) -> SuggestionOut:
    return SuggestionOut(
        id=item.id, title=item.title, text=item.text, category=item.category, status=item.status,
        status_label=str(suggestions.STATUS_LABELS[item.status]), answer=item.answer, supporters=item.supporters,
        created_at=item.created_at.isoformat(), url=url_for("polls.suggestion", suggestion_id=item.id, _external=True))


@operation(bp, "GET", "/suggestions", summary=_l("Vorschläge auflisten"), scope="polls.read",
           description=_l("Die veröffentlichten Vorschläge, die meistunterstützten zuerst."),
           query=schemas.SuggestionQuery, responses={200: SuggestionListOut}, tags=SUGGESTIONS, paginated="suggestions")
def suggestion_list(query: schemas.SuggestionQuery) -> SuggestionListOut:
    return SuggestionListOut(suggestions=[_suggestion_out(s) for s in suggestions.public_suggestions(query.status)])


@operation(bp, "POST", "/suggestions", summary=_l("Vorschlag einreichen"), scope="suggestions.manage",
           description=_l("Der Vorschlag wird erst nach Bestätigung des Links aus der E-Mail geprüft (202)."),
           body=schemas.SuggestionInput, responses={202: SuggestionAcceptedOut}, tags=SUGGESTIONS,
           limits=(limiter.limit(mail_limit),))
def suggestion_create(body: schemas.SuggestionInput):
    verify_captcha(body.altcha)
    notification = suggestions.submit(body)
    suggestions.deliver(notification)
    return SuggestionAcceptedOut(
        status="confirmation_sent",
        message=str(_l("Bitte bestätigen Sie Ihren Vorschlag mit dem Link aus der E-Mail."))), 202


@operation(bp, "GET", "/suggestions/<int:suggestion_id>", summary=_l("Vorschlag anzeigen"), scope="polls.read",
           responses={200: SuggestionOut, 404: Problem}, tags=SUGGESTIONS)
def suggestion_detail(suggestion_id: int) -> SuggestionOut:
    return _suggestion_out(suggestions.get_public_suggestion(suggestion_id))
