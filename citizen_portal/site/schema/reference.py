"""The README's site-file tables, generated from the models (key, type, default, meaning), so they
stay true: ``python -m citizen_portal.site.schema.reference`` prints them, ``--write README.md``
replaces the part of the README between the markers; a test compares the two."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from citizen_portal.booking.settings import BookingSettings
from staff_calendar.spaces.settings import SpacesSettings

from .fields import bare, declared
from .models import DeskSpec, FloorSpec, LocationSpec, RoomSpec, ServiceSpec, SiteSection, StaffSpec

BEGIN = "<!-- generated from the site-file models: python -m citizen_portal.site.schema.reference --write README.md -->"
END = "<!-- end of the generated site-file tables -->"
TABLES: list[tuple[str, type[BaseModel]]] = [
    ("### `[site]`", SiteSection),
    ("`[site] booking = { ... }` (`citizen_portal/booking/settings.py`):", BookingSettings),
    ("`[site] spaces = { ... }` (`staff_calendar/spaces/settings.py`):", SpacesSettings),
    ("### `[[locations]]`", LocationSpec), ("### `[[services]]`", ServiceSpec), ("### `[[staff]]`", StaffSpec),
    ("### `[[floors]]`", FloorSpec), ("### `[[desks]]`", DeskSpec), ("### `[[rooms]]`", RoomSpec),
]


def _type(field: FieldInfo) -> str:
    low, high = declared(field, "ge"), declared(field, "le")
    title = field.title or declared(field, "title")
    annotation = bare(field.annotation)
    if low is not None and high is not None:
        return f"{low:g}–{high:g}"
    if title:
        return title
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(f"`{value}`" for value in get_args(annotation))
    return {bool: "bool", int: "whole number", float: "number", str: "string"}.get(annotation, "table")


def _default(field: FieldInfo) -> str:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "x-default" in extra:
        return str(extra["x-default"])
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "none"
    if isinstance(value, BaseModel):
        return "`{}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f'`"{value}"`' if isinstance(value, str) else f"`{value}`"


def table(model: type[BaseModel]) -> str:
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        meaning = (field.description or "").replace("|", r"\|")  # a "|" would end the cell
        rows.append(f"| `{name}` | {_type(field)} | {_default(field)} | {meaning} |")
    return "\n".join(rows)


def tables() -> str:
    """Every table with its heading, between the markers."""
    return "\n\n".join([BEGIN, *(f"{heading}\n\n{table(model)}" for heading, model in TABLES), END])


def write(readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    before, _, rest = text.partition(BEGIN)
    _, _, after = rest.partition(END)
    readme.write_text(before + tables() + after, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        write(Path(sys.argv[2]))
    else:
        print(tables())
