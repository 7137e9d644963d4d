"""What ``/api/v1`` answers about polls and suggestions: the ``Out`` models the API views return and
the OpenAPI document describes (inputs are in ``schemas``)."""

from __future__ import annotations

from pydantic import Field

from citizen_portal.core.api import Out

Translations = dict[str, str]  # {"de": ..., "en": ...}


class PollOut(Out):
    id: int
    slug: str = Field(examples=["parkbank-2026"])
    title: Translations = Field(examples=[{"de": "Neue Bänke", "en": "New benches"}])
    description: Translations
    status: str = Field(description="open or closed", examples=["open"])
    mode: str = Field(description="Who may vote: codes, email or open (anyone)", examples=["codes"])
    results_visibility: str = Field(examples=["after_close"])
    opens_at: str = Field(examples=["2026-03-01T08:00:00+00:00"])
    closes_at: str = Field(examples=["2026-03-31T20:00:00+00:00"])
    informal: bool = Field(description="Anyone may vote: the result is not representative")
    url: str


class PollListOut(Out):
    polls: list[PollOut]


class OptionOut(Out):
    id: int
    label: Translations
    value: int | None = Field(description="Rating value")


class QuestionOut(Out):
    id: int
    kind: str = Field(examples=["single"])
    text: Translations
    required: bool
    max_choices: int | None
    options: list[OptionOut]


class PollDetailOut(PollOut):
    questions: list[QuestionOut]


class ReceiptOut(Out):
    receipt: str = Field(description="Vote receipt: check it later at check_url")
    check_url: str


class OptionResultOut(Out):
    id: int
    label: str
    value: int | None
    votes: int
    percent: float


class QuestionResultOut(Out):
    id: int
    kind: str
    text: str
    answered: int
    options: list[OptionResultOut]
    average: float | None = Field(default=None, description="Rating questions only")
    texts: list[str] | None = Field(default=None, description="Published answers of text questions only")


class ResultsOut(Out):
    poll_id: int
    status: str
    ballots: int
    informal: bool
    questions: list[QuestionResultOut]


class SuggestionOut(Out):
    id: int
    title: str
    text: str
    category: str | None
    status: str = Field(examples=["received"])
    status_label: str
    answer: str | None
    supporters: int
    created_at: str
    url: str


class SuggestionListOut(Out):
    suggestions: list[SuggestionOut]


class SuggestionAcceptedOut(Out):
    status: str = Field(examples=["confirmation_sent"])
    message: str
