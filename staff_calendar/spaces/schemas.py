"""Typed input of desk and room booking (``citizen_portal.core.schemas``): the HTML forms, the JSON
API and the query strings of both parse through these models, so a page shows the same field
messages as the API returns in ``fields``. Only shapes here (a date, a key, a time, 1..26 weeks);
every rule that needs the data (horizon, grid, capacity, free or taken) is in ``services``.

The admin forms (floors, desks, rooms) are in ``admin_schemas``."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from citizen_portal.core.i18n import _l, site_timezone
from citizen_portal.core.schemas import (
    Day,
    Flag,
    InputProblem,
    LocalMoment,
    Schema,
    SingleLine,
    WholeNumber,
    message,
)

PARTS = ("day", "morning", "afternoon")
MAX_SERIES_WEEKS = 26
MAX_ATTENDEES = 1000

SpaceKey = Annotated[SingleLine[64], Field(description="The key of a desk, room or floor.", examples=["f1-07"])]


def whole_number_in(minimum: int, maximum: int, text: Any = None) -> Any:
    """A whole number from ``minimum`` to ``maximum``; every problem (no number, out of range, missing)
    says ``text`` (default: "a whole number from .. to ..")."""
    text = text or _l("Bitte geben Sie eine ganze Zahl von %(min)s bis %(max)s an.", min=minimum, max=maximum)

    def check(value: Any) -> Any:
        raw = value.strip() if isinstance(value, str) else value
        if isinstance(raw, bool) or not (isinstance(raw, int) or (isinstance(raw, str) and raw.isascii()
                                                                    and raw.isdigit() and len(raw) < 10)):
            raise InputProblem(text)
        if not minimum <= int(raw) <= maximum:
            raise InputProblem(text)
        return int(raw)

    return Annotated[int, BeforeValidator(check), Field(json_schema_extra=message(text), ge=minimum, le=maximum)]


def _part(value: Any) -> Any:
    if value not in PARTS:
        raise InputProblem(_l("Bitte wählen Sie ganzer Tag, Vormittag oder Nachmittag."))
    return value


Part = Annotated[Literal["day", "morning", "afternoon"], BeforeValidator(_part),
                 Field(description="The whole day or one half day.")]


def _weekdays(value: Any) -> Any:
    """0 = Monday .. 6 = Sunday; a single value or a list; sorted, without repeats."""
    values = value if isinstance(value, list | tuple) else [value]
    days = set()
    for item in values:
        text = str(item).strip() if isinstance(item, str | int) and not isinstance(item, bool) else ""
        if not re.fullmatch(r"[0-6]", text):
            raise InputProblem(_l("Bitte wählen Sie Wochentage aus."))
        days.add(int(text))
    if not days:
        raise InputProblem(_l("Bitte wählen Sie mindestens einen Wochentag."))
    return tuple(sorted(days))


Weekdays = Annotated[tuple[int, ...], BeforeValidator(_weekdays),
                     WithJsonSchema({"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 6},
                                     "minItems": 1})]

_MOMENT: TypeAdapter[datetime] = TypeAdapter(LocalMoment)
_CLOCK = re.compile(r"\d{1,2}:\d{2}")


def _time_or_moment(value: Any) -> Any:
    """``HH:MM`` (a time on the form's ``date``) or a date-time (``LocalMoment``: RFC 3339, without an
    offset in the site's time zone)."""
    if isinstance(value, str) and _CLOCK.fullmatch(value.strip()):
        try:
            return time.fromisoformat(value.strip().zfill(5))
        except ValueError:
            raise InputProblem(_l("Bitte geben Sie eine Uhrzeit an.")) from None
    try:
        return _MOMENT.validate_python(value)
    except ValidationError as exc:
        cause = (exc.errors()[0].get("ctx") or {}).get("error")
        if isinstance(cause, InputProblem):
            raise cause from None
        raise InputProblem(_l("Bitte geben Sie Datum und Uhrzeit an.")) from None


TimeOrMoment = Annotated[datetime | time, BeforeValidator(_time_or_moment),
                         WithJsonSchema({"type": "string", "format": "date-time"})]


# --- desks -------------------------------------------------------------------------------------------

SeriesWeeks = whole_number_in(1, MAX_SERIES_WEEKS, _l("Bitte geben Sie 1 bis 26 Wochen an."))


class DeskBookingInput(Schema):
    """``POST /arbeitsplaetze/buchen`` and ``POST /api/v1/desk-bookings``."""

    desk: SpaceKey
    date: Day
    part: Part = "day"


class DeskSeriesInput(Schema):
    """``POST /arbeitsplaetze/serie``: the desk on each of ``weekdays`` for ``weeks`` weeks from ``first_day``."""

    desk: SpaceKey
    part: Part = "day"
    first_day: Day
    weeks: SeriesWeeks
    weekdays: Annotated[Weekdays, Field(
        json_schema_extra=message(None, missing=_l("Bitte wählen Sie mindestens einen Wochentag.")))]


class CancelDeskInput(Schema):
    """Cancelling a desk booking: the whole day (every half of its group) or one half."""

    part: Part = "day"


class CheckInInput(Schema):
    """Checking in (to one's booking, or at the desk whose QR code was scanned) sends nothing else."""


class DesksQuery(Schema):
    """``GET /api/v1/desks``: the desks of a day, optionally of one floor and with all ``attribute``s."""

    date: Day
    floor: SpaceKey | None = None
    attribute: list[SingleLine[64]] = []


class DeskPageQuery(DesksQuery):
    """The desk page: without ``date`` it opens on the first day that still offers something."""

    date: Day | None = None


# --- rooms -------------------------------------------------------------------------------------------

class RoomBookingInput(Schema):
    """``POST /arbeitsplaetze/raeume/buchen`` (``date`` + ``HH:MM``) and ``POST /api/v1/room-bookings``
    (date-times; without an offset in the site's time zone): both give ``start`` and ``end`` as
    aware date-times."""

    room: SpaceKey
    date: Day | None = None
    start: TimeOrMoment
    end: TimeOrMoment
    title: SingleLine[200]
    attendees: Annotated[WholeNumber, Field(ge=1, le=MAX_ATTENDEES)] = 1

    @field_validator("start", "end")
    @classmethod
    def _on_the_date(cls, value: datetime | time, info: ValidationInfo) -> datetime:
        if isinstance(value, datetime):
            return value
        day = info.data.get("date")
        if day is None:
            raise InputProblem(_l("Bitte geben Sie Datum und Uhrzeit an."))
        return datetime.combine(day, value, tzinfo=site_timezone())

    @property
    def start_at(self) -> datetime:
        assert isinstance(self.start, datetime)
        return self.start

    @property
    def end_at(self) -> datetime:
        assert isinstance(self.end, datetime)
        return self.end


class DayQuery(Schema):
    """``GET /api/v1/rooms/<key>/availability``."""

    date: Day


class DayPageQuery(Schema):
    """The room page: without ``date`` it opens on the first day with free time."""

    date: Day | None = None


# --- a person's bookings, who's in, the feed ---------------------------------------------------------

class PeriodQuery(Schema):
    """``from``/``to`` of a list (my bookings in the API, occupancy); defaults are the caller's."""

    first: Day | None = Field(None, alias="from")
    last: Day | None = Field(None, alias="to")


class WeekQuery(Schema):
    """``GET /arbeitsplaetze/wer-ist-da?week=``: any day of the week to show."""

    week: Day | None = None


class VisibilityInput(Schema):
    """Whether one's team sees the days one is in the office."""

    visible: Flag = False


# --- blocks (admin) ----------------------------------------------------------------------------------

TARGET_MESSAGE = _l("Bitte wählen Sie genau einen Arbeitsplatz oder einen Raum.")


def _target(value: Any) -> Any:
    kind, _sep, key = value.partition(":") if isinstance(value, str) else ("", "", "")
    if kind not in ("desk", "room") or not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", key):
        raise InputProblem(TARGET_MESSAGE)
    return value


class BlockInput(Schema):
    """A desk (``desk:<key>``) or a room (``room:<key>``) blocked from ``first_day`` to ``last_day``
    (default: the same day), with a reason."""

    target: Annotated[str, BeforeValidator(_target), Field(
        pattern="^(desk|room):[a-z0-9][a-z0-9._-]{0,63}$", json_schema_extra=message(TARGET_MESSAGE))]
    first_day: Day
    last_day: Day | None = None
    reason: SingleLine[300]

    @property
    def desk_key(self) -> str | None:
        kind, _sep, key = self.target.partition(":")
        return key if kind == "desk" else None

    @property
    def room_key(self) -> str | None:
        kind, _sep, key = self.target.partition(":")
        return key if kind == "room" else None

    @property
    def until(self) -> date:
        return self.last_day or self.first_day
