"""Every problem of a site file as ``key: problem``: pydantic's errors worded for ``flask site check``,
with entries named by their key (``staff[mmueller].calendar.url``) or, without a usable key, by their
position (``services[2].key``); plus the one rule no single entry can check, a key used twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from .fields import KEY_PATTERN, Context, bare, declared, type_name
from .models import ENTRY_KINDS, SECRET_HINT, SiteFile

TYPE_WORDS = {"int_type": "a whole number", "float_type": "a number", "string_type": "a string",
              "bool_type": "true or false", "list_type": "a list", "dict_type": "a table", "model_type": "a table",
              "model_attributes_type": "a table"}


@dataclass(frozen=True)
class SiteError:
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


class SiteFileInvalid(Exception):
    """The site file has errors; ``errors`` lists every one of them."""

    def __init__(self, errors: list[SiteError]) -> None:
        super().__init__(f"{len(errors)} error(s) in the site file")
        self.errors = errors


def _entries(document: dict[str, Any], kind: str) -> list[tuple[int, dict[str, Any], str | None]]:
    """(position, table, key if it is a string) of each table in ``[[kind]]``."""
    value = document.get(kind)
    tables = enumerate(value) if isinstance(value, list) else ()
    return [(index, entry, entry["key"] if isinstance(entry.get("key"), str) else None)
            for index, entry in tables if isinstance(entry, dict)]


def context_of(document: dict[str, Any], app_timezone: str) -> Context:
    """The keys the file declares (entries with errors included, so a mistake is reported once, at
    its place) and the locations each service names."""
    service_locations = {key: set(entry["locations"]) for _, entry, key in _entries(document, "services")
                         if key and isinstance(entry.get("locations"), list)
                         and all(isinstance(item, str) for item in entry["locations"])}
    return {"app_timezone": app_timezone, "service_locations": service_locations,
            "keys": {kind: {key for _, _, key in _entries(document, kind) if key} for kind in ENTRY_KINDS}}


Located = tuple[tuple[str | int, ...], SiteError]


def entry_names(document: dict[str, Any]) -> tuple[dict[tuple[str, int], str], list[Located]]:
    """How errors name each entry with a valid key seen first (``staff[mmueller]``), and a key used twice."""
    names: dict[tuple[str, int], str] = {}
    twice: list[Located] = []
    for kind in ENTRY_KINDS:
        first: dict[str, int] = {}
        for index, _, key in _entries(document, kind):
            if key is None or not KEY_PATTERN.fullmatch(key):
                continue
            if key in first:
                twice.append(((kind, index, "key"), SiteError(f"{kind}[{index}].key",
                                                              f"duplicate key {key!r} (also {kind}[{first[key]}])")))
            else:
                first[key] = index
                names[(kind, index)] = f"{kind}[{key}]"
    return names, twice


def _path(loc: tuple[str | int, ...], names: dict[tuple[str, int], str]) -> str:
    path = ""
    for position, part in enumerate(loc):
        if isinstance(part, int):
            path = names.get((str(loc[0]), part), f"{path}[{part}]") if position == 1 else f"{path}[{part}]"
        elif part != "[key]":  # a problem with a table's key, e.g. an unknown weekday: named by the key
            path = f"{path}.{part}" if path else part
    return path


def _walk(loc: tuple[str | int, ...]) -> tuple[Any, FieldInfo | None]:
    """The declared type at ``loc`` in ``SiteFile`` and the model field of its last step (or None)."""
    node: Any = SiteFile
    field = None
    for part in loc:
        node = bare(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(str(part))
            node = field.annotation if field else None
        else:
            field, args = None, get_args(node)
            node = args[-1] if args else None
    return bare(node), field


def problem(error: dict[str, Any]) -> str:
    """One pydantic error in the words of ``flask site check``."""
    kind, loc, value, ctx = error["type"], error["loc"], error.get("input"), error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx["error"])
    field = _walk(loc)[1]
    if kind == "missing":
        extra = field.json_schema_extra if field else None
        return extra["x-missing"] if isinstance(extra, dict) and "x-missing" in extra else "missing (required)"
    if kind == "extra_forbidden":
        if loc[-1] == "password":
            return SECRET_HINT
        model = _walk(loc[:-1])[0]
        return f"unknown key (allowed: {', '.join(model.model_fields)})"
    if kind in ("greater_than_equal", "less_than_equal") and None not in (declared(field, "ge"), declared(field, "le")):
        return f"must be between {declared(field, 'ge'):g} and {declared(field, 'le'):g}, not {value}"
    if kind == "string_too_long":
        return f"is longer than {ctx['max_length']} characters"
    if kind == "literal_error":
        return f"must be one of {', '.join(map(str, get_args(_walk(loc)[0])))}, not {value!r}"
    if kind in TYPE_WORDS:
        return f"must be {TYPE_WORDS[kind]}, not {type_name(value)}"
    return error["msg"]


def site_errors(invalid: ValidationError | None, document: dict[str, Any]) -> list[SiteError]:
    """Every error, in file order: ``[site]`` first, then each array of tables entry by entry."""
    names, twice = entry_names(document)
    found: list[Located] = [(error["loc"], SiteError(_path(error["loc"], names), problem(error)))
                            for error in (invalid.errors(include_url=False) if invalid else ())]
    found += twice

    def order(item: Located) -> tuple[int, int]:
        loc = item[0]
        section = ENTRY_KINDS.index(loc[0]) + 1 if loc[0] in ENTRY_KINDS else 0
        return section, loc[1] if len(loc) > 1 and isinstance(loc[1], int) else -1

    return [error for _, error in sorted(found, key=order)]
