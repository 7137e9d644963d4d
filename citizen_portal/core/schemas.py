"""Typed input for every package: pydantic models turn form fields, query strings and JSON bodies
into typed values. The HTML forms and the JSON API parse through the same model, so a citizen sees
the same field message on the page as a client gets in the API's ``fields``; the models are also
the source of the OpenAPI document. No business rules here: only "is this a date, a single line of
at most 200 characters, an e-mail address".

    class BookingInput(Schema):
        name: SingleLine[200] = Field(json_schema_extra=message(_l("Bitte geben Sie Ihren Namen an.")))
    values = parse_json(BookingInput, request.get_json(silent=True))   # or parse_form(..., request.form)

Every failure becomes ``Invalid(fields={field: message})`` (400), never a 500: unknown fields,
wrong types, oversized or control-character text, impossible dates, dates outside the years
``MIN_YEAR``..``MAX_YEAR`` (the last one keeps every ``date + timedelta`` a service does in range).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar, get_args, get_origin

from flask.json.provider import DefaultJSONProvider
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter, UnicodeConverter

from citizen_portal.core.addresses import MAX_EMAIL, AddressProblem, plain_address
from citizen_portal.core.errors import Invalid
from citizen_portal.core.i18n import _l, site_timezone

MIN_YEAR, MAX_YEAR = 1900, 2200
MAX_ID = 2**63 - 1
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                           r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
TRUE_WORDS = frozenset({"1", "on", "true", "yes"})
FALSE_WORDS = frozenset({"0", "off", "false", "no"})

S = TypeVar("S", bound="Schema")


class Schema(BaseModel):
    """Base of every input model: unknown fields are an error, text is stripped, values are frozen."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class FieldMessage:
    """A field's user message (lazily translated), used as ``Field(json_schema_extra=message(...))``.
    Pydantic calls it while building the JSON schema: the message becomes ``x-message`` in the current
    language (a lazy string itself cannot be serialised)."""

    def __init__(self, text: Any, missing: Any = None) -> None:
        self.text, self.missing = text, missing

    def __call__(self, schema: dict[str, Any]) -> None:
        if self.text is not None:
            schema["x-message"] = str(self.text)


def message(text: Any, *, missing: Any = None) -> FieldMessage:
    """The message shown for any problem with this field, and optionally another one when the field
    is missing: ``Field(json_schema_extra=message(_l("..."), missing=_l("...")))``."""
    return FieldMessage(text, missing)


class InputProblem(ValueError):
    """Raised by a field validator with a translated message for the user."""

    def __init__(self, text: Any) -> None:
        super().__init__(str(text))
        self.text = text


# --------------------------------------------------------------------------- field types


def _no_control_characters(value: str, *, multiline: bool) -> str:
    allowed = {"\n", "\t"} if multiline else set()
    if any(unicodedata.category(char) in {"Cc", "Cs"} and char not in allowed for char in value.replace("\r\n", "\n")):
        if not multiline and ("\n" in value or "\r" in value):
            raise InputProblem(_l("Bitte ohne Zeilenumbruch angeben."))
        raise InputProblem(_l("Der Text enthält unzulässige Steuerzeichen."))
    return value.replace("\r\n", "\n")


def _single_line(value: str) -> str:
    return _no_control_characters(value, multiline=False)


def _multi_line(value: str) -> str:
    return _no_control_characters(value, multiline=True)


class _Text:
    """``SingleLine[200]``, ``MultiLine[2000]``: non-empty text of at most n characters."""

    def __init__(self, validator) -> None:
        self.validator = validator

    def __getitem__(self, max_length: int):
        return Annotated[str, Field(min_length=1, max_length=max_length), AfterValidator(self.validator)]


SingleLine = _Text(_single_line)  # no line breaks, no control characters
MultiLine = _Text(_multi_line)  # line breaks and tabs allowed, no other control characters


def _email(value: str) -> str:
    """One plain address (``core.addresses.plain_address``: no lists, names, comments, quotes or
    mixed scripts); the domain comes back IDNA-encoded and lower-cased."""
    value = _single_line(value.strip())
    try:
        return plain_address(value)
    except AddressProblem as problem:
        raise InputProblem(problem.text) from None


Email = Annotated[str, AfterValidator(_email), WithJsonSchema({"type": "string", "format": "email",
                                                               "maxLength": MAX_EMAIL})]


def _day(value: Any) -> Any:
    if isinstance(value, str):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            raise InputProblem(_l("Bitte ein Datum im Format JJJJ-MM-TT angeben."))
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise InputProblem(_l("Dieses Datum gibt es nicht.")) from None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InputProblem(_l("Bitte ein Datum im Format JJJJ-MM-TT angeben."))
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InputProblem(_l("Bitte ein Datum zwischen %(first)s und %(last)s angeben.", first=MIN_YEAR,
                              last=MAX_YEAR))
    return value


Day = Annotated[date, BeforeValidator(_day), WithJsonSchema({"type": "string", "format": "date"})]


def day_or_none(value: str | None) -> date | None:
    """A ``Day`` from a query string (``?tag=2026-03-02``), or ``None`` for no day or one that is not
    a date between ``MIN_YEAR`` and ``MAX_YEAR`` (for pages that then show a default day): never a
    ``date`` that ``± timedelta`` pushes out of range."""
    try:
        return _day(value) if value else None
    except InputProblem:
        return None


def _moment(value: Any) -> Any:
    problem = _l("Bitte eine Zeit nach RFC 3339 mit Zeitzone angeben.")
    if isinstance(value, str):
        text = value.strip()
        if not 16 <= len(text) <= 40 or "T" not in text.upper():
            raise InputProblem(problem)
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise InputProblem(_l("Diese Zeit gibt es nicht.")) from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InputProblem(problem)
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not MIN_YEAR <= in_utc.year <= MAX_YEAR:
        raise InputProblem(_l("Bitte eine Zeit zwischen %(first)s und %(last)s angeben.", first=MIN_YEAR,
                              last=MAX_YEAR))
    return value


Moment = Annotated[datetime, BeforeValidator(_moment), WithJsonSchema({"type": "string", "format": "date-time"})]


def _in_site_zone(value: Any) -> Any:
    if isinstance(value, str) and "T" in value.upper():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=site_timezone())
    return value


# a ``Moment``, where a date-time without an offset (an HTML ``datetime-local`` field) is site time
LocalMoment = Annotated[datetime, BeforeValidator(_moment), BeforeValidator(_in_site_zone),
                        WithJsonSchema({"type": "string", "format": "date-time"})]


def _strict_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise InputProblem(_l("Bitte true oder false angeben."))


Flag = Annotated[bool, BeforeValidator(_strict_bool)]


def _whole_number(value: Any) -> Any:
    if isinstance(value, bool):
        raise InputProblem(_l("Bitte eine ganze Zahl angeben."))
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,19}", text):  # ASCII digits only: "²" and "①" are no numbers
            raise InputProblem(_l("Bitte eine ganze Zahl angeben."))
        return int(text)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number), Field(strict=True)]
Id = Annotated[int, BeforeValidator(_whole_number), Field(strict=True, ge=1, le=MAX_ID)]


def id_or_none(value: str | int) -> int | None:
    """``value`` as a database id (1..``MAX_ID``) if it is one, else ``None``: for a path part that is a
    slug or an id. ``str.isdigit()`` is not the test: it accepts "²" and "①", which ``int()`` refuses,
    and 2**64, which no database column holds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]{1,19}", value):
            return None
        value = int(value)
    return value if isinstance(value, int) and 1 <= value <= MAX_ID else None


class IdConverter(IntegerConverter):
    """The ``<int:...>`` URL converter of the app: ASCII digits, at most ``MAX_ID`` (a database id),
    so ``/…/18446744073709551616`` is a 404, not an overflow in the database driver."""

    regex = r"[0-9]{1,19}"

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class TextConverter(UnicodeConverter):
    """The default ``<name>`` URL converter of the app: no control characters (a NUL byte in a slug or
    key is a 404, not a PostgreSQL error on the lookup)."""

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", r"[^/\x00-\x1f\x7f]")


MAX_JSON_DEPTH = 32


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON with a depth limit: a body nested deeper than ``MAX_JSON_DEPTH`` (or deep enough for
    Python's recursion limit) is malformed JSON, a 400, never a ``RecursionError``."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        _check_depth(value)
        return value


def _check_depth(value: Any) -> None:
    todo = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ValueError("JSON nested too deeply")
            todo.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))


# --------------------------------------------------------------------------- parsing


GENERIC_MESSAGES: dict[str, Any] = {
    "missing": _l("Dieses Feld ist erforderlich."),
    "extra_forbidden": _l("Unbekanntes Feld."),
    "string_type": _l("Bitte einen Text angeben."),
    "string_too_short": _l("Dieses Feld ist erforderlich."),
    "int_type": _l("Bitte eine ganze Zahl angeben."),
    "int_parsing": _l("Bitte eine ganze Zahl angeben."),
    "int_from_float": _l("Bitte eine ganze Zahl angeben."),
    "bool_type": _l("Bitte true oder false angeben."),
    "bool_parsing": _l("Bitte true oder false angeben."),
    "list_type": _l("Bitte eine Liste angeben."),
    "dict_type": _l("Bitte ein JSON-Objekt angeben."),
    "model_type": _l("Bitte ein JSON-Objekt angeben."),
    "literal_error": _l("Bitte einen der erlaubten Werte angeben."),
    "enum": _l("Bitte einen der erlaubten Werte angeben."),
}


def _generic(error: dict[str, Any]) -> Any:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "string_too_long":
        return _l("Höchstens %(n)s Zeichen.", n=ctx.get("max_length"))
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        return _l("Dieser Wert liegt außerhalb des erlaubten Bereichs.")
    if kind in {"too_long", "too_short"}:
        return _l("Diese Liste hat nicht die erlaubte Länge.")
    return GENERIC_MESSAGES.get(kind, _l("Dieser Wert ist ungültig."))


def _field_message(model: type[BaseModel], name: str) -> FieldMessage | None:
    field = model.model_fields.get(name)
    extra = field.json_schema_extra if field is not None else None
    return extra if isinstance(extra, FieldMessage) else None


def _message(model: type[BaseModel], error: dict[str, Any]) -> Any:
    """The user's message for one pydantic error: a validator's own message, else the field's declared
    message (``message(...)``), else a generic one by the kind of error."""
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, InputProblem):
        return cause.text
    if error["type"] == "extra_forbidden":
        return GENERIC_MESSAGES["extra_forbidden"]
    declared = _field_message(model, str(error["loc"][0])) if error["loc"] else None
    if declared is not None and error["type"] == "missing" and declared.missing is not None:
        return declared.missing
    if declared is not None and declared.text is not None:
        return declared.text
    return _generic(error)


def invalid_from(model: type[BaseModel], exc: ValidationError) -> Invalid:
    """A ``ValidationError`` as the platform's ``Invalid``: one message per field (the first), field
    names joined with dots for nested values (``hours.mon``), unknown names cut to 50 characters."""
    fields: dict[str, Any] = {}
    for error in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(part) for part in error["loc"])[:50] or "body"
        fields.setdefault(name, _message(model, error))
        if len(fields) >= 30:
            break
    return Invalid(fields=fields)


def parse(model: type[S], data: dict[str, Any]) -> S:
    """Validate ``data`` (already a dict) into ``model`` or raise ``Invalid``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_from(model, exc) from None


def parse_json(model: type[S], body: Any) -> S:
    """A JSON body (``request.get_json(silent=True)``) into ``model``; anything but an object is 400."""
    if not isinstance(body, dict):
        raise Invalid(_l("Bitte senden Sie ein JSON-Objekt."))
    return parse(model, body)


def form_data(model: type[BaseModel], form: MultiDict) -> dict[str, Any]:
    """Form fields as the model expects them: list fields from every value of the name, empty
    strings left out (an empty optional field is absent), checkboxes as sent."""
    data: dict[str, Any] = {}
    for name in form:
        field = model.model_fields.get(name)
        values = [value for value in form.getlist(name) if value.strip() != ""]
        if field is not None and _is_list(field.annotation):
            data[name] = values
        elif values:
            data[name] = values[-1]
    return data


def parse_form(model: type[S], form: MultiDict, *, ignore: frozenset[str] = frozenset({"csrf_token"})) -> S:
    """An HTML form (``request.form`` or ``request.args``) into ``model`` (fields in ``ignore`` dropped)."""
    data = form_data(model, MultiDict([(key, value) for key, value in form.items(multi=True) if key not in ignore]))
    return parse(model, data)


def _is_list(annotation: Any) -> bool:
    """``list[int]``, ``tuple[str, ...]``, ``list[str] | None``, ``Annotated[list[int], ...]``."""
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    return origin is not None and any(_is_list(arg) for arg in get_args(annotation))
