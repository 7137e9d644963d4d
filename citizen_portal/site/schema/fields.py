"""The value types of the site file. Each check says what is wrong in the words ``flask site check``
prints (``errors.py`` words pydantic's own errors: missing, unknown key, type, range).

A check that finds several problems at once (overlapping ranges, a key listed twice) raises them
together with ``problems()``, each at its place below the value. References between entries read
the keys the file declares from the validation context (``Context``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, NoReturn, TypedDict, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails

from citizen_portal.core.calendar_days import WEEKDAYS

LANGUAGES = ("de", "en")
KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_CLOCK = r"([01]\d|2[0-3]):[0-5]\d"
RANGE_PATTERN = re.compile(rf"(?P<start>{_CLOCK})-(?P<end>{_CLOCK}|24:00)")  # "HH:MM" strings sort as times


class SiteModel(BaseModel):
    """A table of the site file: every key it may hold is a field; any other key is an error."""

    model_config = ConfigDict(extra="forbid")


class Context(TypedDict):
    """What a check needs beyond its value: the app's time zone and the keys the file declares."""

    app_timezone: str
    keys: dict[str, set[str]]  # "locations" -> {"amt", ...}, likewise every other kind of entry
    service_locations: dict[str, set[str]]  # service key -> its location keys


def problems(*found: tuple[tuple[str | int, ...], str]) -> NoReturn:
    """Raise several problems at once, each at its place (``(1,)``: the second item) below the value."""
    raise ValidationError.from_exception_data("site", [
        InitErrorDetails(type="value_error", loc=loc, input=None, ctx={"error": ValueError(text)})
        for loc, text in found])


def rule(ok: Callable[[Any], Any], problem: str) -> AfterValidator:
    """A check of one value: ``problem`` (``{value!r}`` names the value) unless ``ok(value)``."""
    def check(value: Any) -> Any:
        if not ok(value):
            raise ValueError(problem.format(value=value))
        return value
    return AfterValidator(check)


def bare(annotation: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` as ``X``."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) in (Union, UnionType):
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        else:
            return annotation


def declared(field: FieldInfo | None, name: str) -> Any:
    """What a field declares as ``name`` (``ge``, ``le``, ``title``), also on an ``Annotated`` type inside
    ``X | None``; None if nothing."""
    found, pending = list(field.metadata) if field else [], [field.annotation] if field else []
    while pending:
        annotation = pending.pop()
        if get_origin(annotation) is Annotated:
            found += annotation.__metadata__
            pending.append(get_args(annotation)[0])
        elif get_origin(annotation) in (Union, UnionType):
            pending += get_args(annotation)
    return next((getattr(item, name) for item in found if getattr(item, name, None) is not None), None)


def type_name(value: Any) -> str:
    """How an error names a value of the wrong kind: ``the string '15'``, ``a boolean``, ``a table``."""
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) < 40 else "a string"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"the number {value}"
    names = {bool: "a boolean", dict: "a table", list: "a list"}
    return names.get(type(value), f"a {type(value).__name__}")


def shaped(kind: type, example: str) -> BeforeValidator:
    """A value that is no ``kind`` at all is named with an example of the right shape."""
    def check(value: Any) -> Any:
        if not isinstance(value, kind):
            raise ValueError(f"must be {example}, not {type_name(value)}")
        return value
    return BeforeValidator(check)


def distinct(show: Callable[[Any], str] = repr) -> AfterValidator:
    """An item listed twice is an error at its second place."""
    def check(items: list) -> list:
        twice = [((index,), f"{show(item)} is listed twice")
                 for index, item in enumerate(items) if item in items[:index]]
        if twice:
            problems(*twice)
        return items
    return AfterValidator(check)


def text(max_length: int = 200, title: str = "string") -> Any:
    """A non-empty string of at most ``max_length`` characters."""
    return Annotated[str, Field(max_length=max_length, title=title), rule(str.strip, "must not be empty")]


KEY_RULE = "lower-case letters, digits, '.', '_', '-'"
Key = Annotated[str, rule(KEY_PATTERN.fullmatch, f"{{value!r}} is not a valid key (1-64 {KEY_RULE}; starting with a "
                                                 "letter or digit)"), Field(title="key")]


def reference(kind: str, what: str) -> AfterValidator:
    """A key that must name an entry of ``[[kind]]`` declared in the file (even one with errors)."""
    def check(value: str, info: ValidationInfo) -> str:
        context: Context | None = info.context
        known = context["keys"][kind] if context else {value}
        if value not in known:
            hint = f" (known: {', '.join(sorted(known))})" if known else " (none defined)"
            raise ValueError(f"unknown {what} {value!r}{hint}")
        return value
    return AfterValidator(check)


def keys(what: str, kind: str | None = None) -> Any:
    """A list of distinct keys (each called ``what``); with ``kind`` each names an entry of ``[[kind]]``."""
    item = Annotated[str, rule(str.strip, "must not be empty"),
                     rule(KEY_PATTERN.fullmatch, f"{{value!r}} is not a valid {what} ({KEY_RULE})")]
    if kind:
        item = Annotated[item, reference(kind, what.removesuffix(" key"))]
    return Annotated[list[item], distinct(), Field(title=f"list of {what}s")]


Language = Annotated[str, rule(LANGUAGES.__contains__, f"unknown language (allowed: {', '.join(LANGUAGES)})")]


def _as_german(value: Any) -> Any:
    if not isinstance(value, str | dict):
        raise ValueError(f'must be a table like {{ de = "...", en = "..." }}, not {type_name(value)}')
    return {"de": value} if isinstance(value, str) else value


def _german_required(texts: dict[str, str]) -> dict[str, str]:
    if "de" not in texts:
        problems((("de",), "missing (the German text is required)"))
    return texts


def localized(max_length: int = 200) -> Any:
    """A text in several languages, ``{ de = "...", en = "..." }`` (German required; a plain string
    counts as German)."""
    return Annotated[dict[Language, text(max_length)], BeforeValidator(_as_german), AfterValidator(_german_required),
                     Field(title="`{de, en}`")]


Documents = Annotated[dict[Language, Annotated[list[text()], distinct()]],
                      AfterValidator(lambda value: {language: items for language, items in value.items() if items}),
                      Field(title="`{de = [...], en = [...]}`")]


# --------------------------------------------------------------------------- times and dates


def is_time_range(value: str) -> bool:
    """``"HH:MM-HH:MM"`` with start before end (``24:00`` allowed as the end)."""
    match = RANGE_PATTERN.fullmatch(value)
    return bool(match) and match["start"] < match["end"]


def _no_overlaps(ranges: list[str]) -> list[str]:
    ordered = sorted(enumerate(ranges), key=lambda item: item[1])
    overlaps = [((index,), f"{current!r} overlaps {previous!r}")
                for (_, previous), (index, current) in pairwise(ordered) if current[:5] < previous[6:]]
    if overlaps:
        problems(*overlaps)
    return [text for _, text in ordered]


DayRanges = Annotated[list[Annotated[str, rule(is_time_range, '{value!r} is not a time range "HH:MM-HH:MM" with '
                                                              'start before end')]],
                      shaped(list, 'a list like ["08:00-12:00"]'), AfterValidator(_no_overlaps)]
Weekday = Annotated[str, rule(WEEKDAYS.__contains__, f"unknown weekday (use {', '.join(WEEKDAYS)})")]
Hours = Annotated[dict[Weekday, DayRanges], shaped(dict, 'a table like { mon = ["08:00-12:00"] }'),
                  AfterValidator(lambda hours: {day: hours[day] for day in WEEKDAYS if day in hours}),
                  Field(title="weekly hours")]


def iso_date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    try:
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise ValueError(f"{value!r} is not a date YYYY-MM-DD that exists")


Dates = Annotated[list[Annotated[str, BeforeValidator(iso_date)]], shaped(list, "a list of dates"), distinct(str),
                  AfterValidator(sorted), Field(title="list of dates")]


# --------------------------------------------------------------------------- calendars

Url = Annotated[text(500), rule(re.compile(r"https?://[^/\s]+(/\S*)?").fullmatch,
                                "{value!r} is not an http:// or https:// URL")]
EnvName = Annotated[text(100), rule(re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}").fullmatch,
                                    "{value!r} is not an environment variable name")]
InstanceFile = Annotated[text(), rule(lambda value: not value.startswith("/") and ".." not in Path(value).parts,
                                      "must be a file name relative to instance/, without '..'")]
