"""Parity: each ballot and suggestion scenario through the HTML form and through the JSON API gives
the same outcome and the same field messages (one schema, one service)."""

from __future__ import annotations

from typing import Any

import pytest

from citizen_portal.core.extensions import db
from polls.models import Suggestion
from polls.services import ballots, results
from tests.fixtures.form_errors import Outcome, api_outcome, page_outcome, rendered_pages
from tests.polls.factories import answers, close, codes_for, counted_total, make_poll

VIA = pytest.mark.parametrize("via", ["html", "api"])
REQUIRED = "Dieses Feld ist erforderlich."


def as_form(values: dict[str, Any]) -> dict[str, Any]:
    """API answers ``{"<id>": value}`` as the poll page's fields ``q<id>`` (checkboxes: lists)."""
    return {f"q{key}": [str(v) for v in value] if isinstance(value, list) else str(value)
            for key, value in values.items()}


def vote(client, via: str, poll, given: dict[str, Any], code: str) -> Outcome:
    if via == "api":
        return api_outcome(client.post(f"/api/v1/polls/{poll.id}/ballots", json={"code": code, "answers": given}))
    with rendered_pages(client.application) as pages:
        return page_outcome(client.post(f"/beteiligung/{poll.slug}", data={"code": code, **as_form(given)}), pages)


@pytest.fixture
def poll(app):
    return make_poll()


@VIA
def test_ballot_valid(client, poll, via):
    [code] = codes_for(poll, 1)
    assert vote(client, via, poll, answers(poll, multiple=(0, 2)), code) == ("done", {}, "")
    assert counted_total(poll) == 1
    assert results.poll_results(poll.id).questions[1].options[2].votes == 1


def _bad(poll, case: str) -> tuple[dict[str, Any], str, dict[str, str]]:
    """(answers, code change, expected fields) of one kind of bad input."""
    single, multiple, rating, text = (str(question.id) for question in poll.questions)
    given = answers(poll)
    cases = {
        "required": ({k: v for k, v in given.items() if k != single}, "",
                     {f"q{single}": "Bitte beantworten Sie diese Frage."}),
        "rating": ({**given, rating: 6}, "", {f"q{rating}": "Bitte wählen Sie eine Bewertung von 1 bis 5."}),
        "too_many": ({**given, multiple: [o.id for o in poll.questions[1].options]}, "",
                     {f"q{multiple}": "Bitte wählen Sie höchstens 2 Antworten."}),
        "foreign_option": ({**given, single: poll.questions[1].options[0].id}, "",
                           {f"q{single}": "Bitte wählen Sie eine der Antworten."}),
        "long_text": ({**given, text: "x" * 2001}, "", {f"q{text}": "Höchstens 2000 Zeichen."}),
        "unknown_question": ({**given, "999999": 1}, "",
                             {"answers": "Die Antworten passen nicht zu den Fragen dieser Umfrage."}),
        "unknown_code": (given, "AAAA-AAAA-AAAA",
                         {"code": "Dieser Code ist für diese Umfrage nicht gültig. Bitte prüfen Sie die Eingabe."}),
        "long_code": (given, "A" * 101, {"code": "Höchstens 100 Zeichen."}),
    }
    return cases[case]


@VIA
@pytest.mark.parametrize("case", ["required", "rating", "too_many", "foreign_option", "long_text",
                                  "unknown_question", "unknown_code", "long_code"])
def test_ballot_bad_input(client, poll, via, case):
    [code] = codes_for(poll, 1)
    given, other_code, fields = _bad(poll, case)
    status, errors, _message = vote(client, via, poll, given, other_code or code)
    assert (status, errors) == (400, fields)
    assert counted_total(poll) == 0


@VIA
def test_ballot_conflict_used_code(client, poll, via):
    [code] = codes_for(poll, 1)
    ballots.cast_ballot(poll.id, answers(poll), code=code)
    assert vote(client, via, poll, answers(poll), code) == (409, {}, (
        "Mit diesem Code oder dieser E-Mail-Adresse wurde schon abgestimmt. Jede Person kann nur einmal abstimmen."))
    assert counted_total(poll) == 1


@VIA
def test_ballot_conflict_closed_poll(client, poll, via):
    [code] = codes_for(poll, 1)
    close(poll)
    assert vote(client, via, poll, answers(poll), code) == (
        409, {}, "Die Umfrage ist nicht geöffnet: Es kann nicht abgestimmt werden.")
    assert counted_total(poll) == 0


# --- suggestions ---------------------------------------------------------------------------------------

def suggest(client, via: str, values: dict[str, Any]) -> Outcome:
    if via == "api":
        return api_outcome(client.post("/api/v1/suggestions", json=values), done=(202,))
    with rendered_pages(client.application) as pages:
        return page_outcome(client.post("/beteiligung/ideen/neu", data=values), pages, done=(200,))


GOOD = {"title": "Mehr Bänke", "text": "Im Stadtpark fehlen Bänke.", "email": "dora@example.org"}


@VIA
def test_suggestion_valid(client, app, via):
    assert suggest(client, via, {**GOOD, "category": "Grünflächen"}) == ("done", {}, "")
    suggestion = db.session.query(Suggestion).one()
    assert (suggestion.title, suggestion.category, suggestion.email, suggestion.email_verified) == (
        "Mehr Bänke", "Grünflächen", "dora@example.org", False)


@VIA
@pytest.mark.parametrize(("change", "fields"), [
    ({"title": "", "email": "no"}, {"title": REQUIRED,
                                    "email": "Bitte geben Sie eine E-Mail-Adresse wie name@beispiel.de an."}),
    ({"text": "x" * 5001}, {"text": "Höchstens 5000 Zeichen."}),
    ({"category": "Verkehr\nund mehr"}, {"category": "Bitte ohne Zeilenumbruch angeben."}),
    ({"email": None}, {"email": REQUIRED}),
])
def test_suggestion_bad_input(client, app, via, change, fields):
    values = {key: value for key, value in {**GOOD, **change}.items() if value is not None}
    status, errors, _message = suggest(client, via, values)
    assert (status, errors) == (400, fields)
    assert db.session.query(Suggestion).count() == 0
