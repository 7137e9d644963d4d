"""Typed input of polls and suggestions (``citizen_portal.core.schemas``): the citizen forms and the
JSON API parse through the same models, so both show the same field messages. Only shapes here
(a slug, a title, an e-mail address, an answer of the right kind); rules that need the data (a slug
not taken, a poll open, a code unused, a suggestion published) are in ``services``.

A ballot's answers are typed per poll: ``answers_model`` builds one model from the poll's questions,
one field ``q<id>`` per question with the type of its kind (``ANSWER_TYPES``: single, multiple,
rating, text). To add a kind of question, add its answer type there (and its counting in
``services.ballots`` and ``services.results``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, create_model, model_validator
from werkzeug.datastructures import MultiDict

from citizen_portal.core.captcha import WAITING_FIELD
from citizen_portal.core.errors import Invalid
from citizen_portal.core.i18n import _l
from citizen_portal.core.schemas import (
    Email,
    Flag,
    InputProblem,
    LocalMoment,
    MultiLine,
    Schema,
    SingleLine,
    WholeNumber,
    message,
    parse,
)

from .models import KINDS, SUGGESTION_STATUSES, VISIBILITIES, Mode

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,78}[a-z0-9]$")
RESERVED_SLUGS = {"ideen", "neu"}
MAX_TEXT_ANSWER = 2000
MAX_OPTION_LENGTH = 200
MAX_CODES_PER_BATCH = 20_000
# form fields that belong to the page, not to the input (CSRF, the captcha's no-JavaScript token)
PAGE_FIELDS = frozenset({"csrf_token", WAITING_FIELD})


def _slug(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    slug = value.strip().lower()
    if not SLUG_RE.match(slug):
        raise InputProblem(_l("Nur Kleinbuchstaben, Ziffern und Bindestriche (3 bis 80 Zeichen)."))
    if slug in RESERVED_SLUGS:
        raise InputProblem(_l("Diese Adresse ist schon vergeben."))
    return slug


Slug = Annotated[str, BeforeValidator(_slug), Field(examples=["radweg-hauptstrasse"])]
WHEN = message(_l("Bitte geben Sie Datum und Uhrzeit an."))


class PollInput(Schema):
    """The poll admin form. ``closes_at`` after ``opens_at`` is a rule of ``services.polls``."""

    slug: Slug
    title_de: SingleLine[200]
    title_en: SingleLine[200] | None = None
    description_de: MultiLine[5000] | None = None
    description_en: MultiLine[5000] | None = None
    mode: Mode = Field(json_schema_extra=message(_l("Bitte wählen Sie eine Art der Teilnahme.")))
    results_visibility: Literal[VISIBILITIES] = Field(  # type: ignore[valid-type]
        json_schema_extra=message(_l("Bitte wählen Sie, wann die Ergebnisse sichtbar sind.")))
    opens_at: LocalMoment = Field(json_schema_extra=WHEN)
    closes_at: LocalMoment = Field(json_schema_extra=WHEN)
    # 0: live results from the first ballot on
    min_ballots_live: Annotated[WholeNumber, Field(ge=0, le=100000)] = Field(
        10, json_schema_extra=message(_l("Bitte geben Sie eine ganze Zahl ab 0 an.")))
    # the form sends a hidden "0" before the checkbox "1": the last value counts
    published: Flag = True

    @property
    def title(self) -> dict[str, str]:
        return {"de": self.title_de, "en": self.title_en or ""}

    @property
    def description(self) -> dict[str, str]:
        return {"de": self.description_de or "", "en": self.description_en or ""}


def _lines(value: Any) -> Any:
    """Answers of a choice question, one per line (empty lines skipped), each a short single line."""
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        value = "\n".join(value)
    if not isinstance(value, str):
        return value
    lines = [line.strip() for line in value.splitlines() if line.strip()]
    if any(len(line) > MAX_OPTION_LENGTH for line in lines):
        raise InputProblem(_l("Eine Antwort ist zu lang (höchstens %(limit)s Zeichen).", limit=MAX_OPTION_LENGTH))
    return tuple(lines)


Lines = Annotated[tuple[SingleLine[MAX_OPTION_LENGTH], ...], BeforeValidator(_lines)]


class QuestionInput(Schema):
    """The question form of a poll. How many answers a choice question needs is a rule of
    ``services.polls.add_question``; a rating question always gets the values 1–5."""

    kind: Literal[KINDS] = Field(  # type: ignore[valid-type]
        json_schema_extra=message(_l("Bitte wählen Sie eine Art der Frage.")))
    text_de: SingleLine[500]
    text_en: SingleLine[500] | None = None
    options_de: Lines = ()
    options_en: Lines = ()
    max_choices: Annotated[WholeNumber, Field(ge=1, le=1000)] | None = Field(
        None, json_schema_extra=message(_l("Bitte geben Sie eine ganze Zahl ab 1 an.")))
    required: Flag = False

    @property
    def text(self) -> dict[str, str]:
        return {"de": self.text_de, "en": self.text_en or ""}

    @property
    def options(self) -> list[dict[str, str]]:
        english = list(self.options_en) + [""] * len(self.options_de)
        return [{"de": de, "en": en} for de, en in zip(self.options_de, english, strict=False)]


class CodesInput(Schema):
    """How many invitation codes to generate in one batch."""

    count: Annotated[WholeNumber, Field(ge=1, le=MAX_CODES_PER_BATCH)] = Field(json_schema_extra=message(
        _l("Bitte geben Sie eine Zahl von 1 bis %(max)s an.", max=MAX_CODES_PER_BATCH)))


# --- ballots -----------------------------------------------------------------------------------------

class BallotInput(Schema):
    """``POST /api/v1/polls/<id>/ballots`` and the poll page's form (``ballot_from_form``):
    the answers by question id, the invitation code (codes mode) or the one-time link's token
    (e-mail mode: the page sends it as ``t``, API clients as ``code``), and the captcha payload."""

    answers: dict[SingleLine[20], Any] = Field(json_schema_extra=message(_l("Die Antworten fehlen.")),
                                               examples=[{"12": 40, "13": [41, 43], "14": 4, "15": "Mehr Bänke"}])
    code: SingleLine[100] | None = None
    token: SingleLine[100] | None = None
    altcha: SingleLine[20000] | None = None


def answers_from_form(form: MultiDict) -> dict[str, Any]:
    """Form fields ``q<id>`` (checkboxes give lists) → ``{"<id>": value}`` as the API sends them."""
    answers: dict[str, Any] = {}
    for key in form:
        if key.startswith("q") and key[1:].isdigit():
            values = form.getlist(key)
            answers[key[1:]] = values if len(values) > 1 else values[0]
    return answers


def ballot_from_form(form: MultiDict) -> BallotInput:
    """The poll page's form as a ``BallotInput`` (the captcha of the page is checked on its own)."""
    data: dict[str, Any] = {"answers": answers_from_form(form)}
    for name, field in (("code", "code"), ("token", "t")):
        if (form.get(field) or "").strip():
            data[name] = form[field]
    return parse(BallotInput, data)


@dataclass(frozen=True)
class FormQuestion:
    """What typing an answer needs of a question: plain values, cacheable across requests."""

    id: int
    kind: str
    required: bool
    max_choices: int | None
    option_ids: tuple[int, ...]
    rating: dict[int, int]  # rating value → option id


@dataclass
class ParsedBallot:
    option_ids: list[int]
    texts: list[tuple[int, str]]
    answered: list[int]


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) < 12:
        return int(value.strip())
    return None


def _single(question: FormQuestion) -> Any:
    def check(value: Any) -> int:
        choice = _number(value)
        if choice not in question.option_ids:
            raise InputProblem(_l("Bitte wählen Sie eine der Antworten."))
        return choice

    return Annotated[int, BeforeValidator(check)]


def _multiple(question: FormQuestion) -> Any:
    def check(value: Any) -> tuple[int, ...]:
        choices = [_number(item) for item in (value if isinstance(value, list | tuple) else [value])]
        if any(c not in question.option_ids for c in choices) or len(set(choices)) != len(choices):
            raise InputProblem(_l("Bitte wählen Sie nur Antworten aus der Liste."))
        if question.max_choices and len(choices) > question.max_choices:
            raise InputProblem(_l("Bitte wählen Sie höchstens %(max)s Antworten.", max=question.max_choices))
        return tuple(choices)  # type: ignore[arg-type]

    return Annotated[tuple[int, ...], BeforeValidator(check)]


def _rating(question: FormQuestion) -> Any:
    def check(value: Any) -> int:  # the value 1–5 as the id of its option
        rating = _number(value)
        if rating not in question.rating:
            raise InputProblem(_l("Bitte wählen Sie eine Bewertung von 1 bis 5."))
        return question.rating[rating]

    return Annotated[int, BeforeValidator(check)]


def _text(_question: FormQuestion) -> Any:
    return MultiLine[MAX_TEXT_ANSWER]


ANSWER_TYPES: dict[str, Callable[[FormQuestion], Any]] = {
    "single": _single, "multiple": _multiple, "rating": _rating, "text": _text}
ANSWERED = message(None, missing=_l("Bitte beantworten Sie diese Frage."))


class _Answers(Schema):
    @model_validator(mode="before")
    @classmethod
    def _skip_unanswered(cls, data: Any) -> Any:
        """An empty answer (nothing, "", only spaces, an empty list) is no answer."""
        if not isinstance(data, dict):
            return data
        return {key: value for key, value in data.items()
                if value is not None and value != [] and not (isinstance(value, str) and not value.strip())}


def answers_model(questions: tuple[FormQuestion, ...]) -> type[Schema]:
    """A model of one poll's answers: field ``q<id>`` per question, typed by its kind, required when
    the question is."""
    fields: dict[str, Any] = {}
    for question in questions:
        kind = ANSWER_TYPES[question.kind](question)
        if question.required:
            fields[f"q{question.id}"] = (kind, Field(json_schema_extra=ANSWERED))
        else:
            fields[f"q{question.id}"] = (kind | None, None)
    return create_model("Answers", __base__=_Answers, **fields)


def parse_answers(questions: tuple[FormQuestion, ...], model: type[Schema], answers: dict[str, Any]) -> ParsedBallot:
    """``{"<question id>": answer}`` typed by the poll's ``answers_model``; at least one answer."""
    known = {str(question.id) for question in questions}
    if any(str(key) not in known for key in answers):
        raise Invalid(fields={"answers": _l("Die Antworten passen nicht zu den Fragen dieser Umfrage.")})
    typed = parse(model, {f"q{key}": value for key, value in answers.items()})
    option_ids: list[int] = []
    texts: list[tuple[int, str]] = []
    answered: list[int] = []
    for question in questions:
        value = getattr(typed, f"q{question.id}")
        if value is None:
            continue
        if question.kind == "text":
            texts.append((question.id, value))
        else:
            option_ids.extend(value if isinstance(value, tuple) else [value])
        answered.append(question.id)
    if not answered:
        raise Invalid(fields={"answers": _l("Bitte beantworten Sie mindestens eine Frage.")})
    return ParsedBallot(sorted(option_ids), texts, sorted(answered))


# --- e-mail links, suggestions, support, moderation ----------------------------------------------------

class VoteLinkInput(Schema):
    """Asking for a one-time link to vote (e-mail mode)."""

    email: Email


class SuggestionInput(Schema):
    """``POST /beteiligung/ideen/neu`` and ``POST /api/v1/suggestions``."""

    title: SingleLine[200]
    text: MultiLine[5000]
    category: SingleLine[80] | None = None
    email: Email
    altcha: SingleLine[20000] | None = None


class SuggestionQuery(Schema):
    """``GET /api/v1/suggestions?status=``: only suggestions in this status."""

    status: Literal[SUGGESTION_STATUSES] | None = None  # type: ignore[valid-type]


class SupportInput(Schema):
    """Supporting a published suggestion (confirmed by a one-time link)."""

    email: Email
    altcha: SingleLine[20000] | None = None


class ModerationInput(Schema):
    """Publishing or rejecting a suggestion; a rejection needs a reason (``services.suggestions``)."""

    decision: Literal["publish", "reject"] = Field(
        json_schema_extra=message(_l("Bitte wählen Sie: veröffentlichen oder ablehnen.")))
    reason: MultiLine[2000] | None = None


class StatusInput(Schema):
    """The status of a published suggestion and the administration's public answer."""

    status: Literal[SUGGESTION_STATUSES] = Field(  # type: ignore[valid-type]
        json_schema_extra=message(_l("Bitte wählen Sie einen Status.")))
    answer: MultiLine[5000] | None = None


class TextModerationInput(Schema):
    """The moderation of a free-text answer of a ballot."""

    decision: Literal["published", "rejected", "pending"] = Field(
        json_schema_extra=message(_l("Unbekannte Entscheidung.")))


def form_values(form: MultiDict) -> dict[str, str]:
    """The submitted form as a flat dict for re-rendering it, the last value of each field winning
    (as the parser reads checkboxes after their hidden field)."""
    return {key: form.getlist(key)[-1] for key in form}
