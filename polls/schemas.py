"""Turn form and JSON input into typed values. No rules here: only shapes, types and lengths;
each problem becomes a translated message under the field's name (``Invalid(fields=...)``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from citizen_portal.core.errors import Invalid
from citizen_portal.core.i18n import _l, site_timezone

from .models import KINDS, MODES, VISIBILITIES

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,78}[a-z0-9]$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MAX_TEXT_ANSWER = 2000
RESERVED_SLUGS = {"ideen", "neu"}


@dataclass
class PollInput:
    slug: str
    title: dict[str, str]
    description: dict[str, str]
    mode: str
    results_visibility: str
    opens_at: datetime
    closes_at: datetime
    published: bool = True


@dataclass
class QuestionInput:
    kind: str
    text: dict[str, str]
    options: list[dict[str, str]] = field(default_factory=list)
    max_choices: int | None = None
    required: bool = False


@dataclass
class SuggestionInput:
    title: str
    text: str
    category: str | None
    email: str


def _text(data: Any, name: str, errors: dict, *, required: bool = True, limit: int = 200) -> str:
    value = data.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if required and not value:
        errors[name] = _l("Bitte füllen Sie dieses Feld aus.")
    elif len(value) > limit:
        errors[name] = _l("Der Text ist zu lang (höchstens %(limit)s Zeichen).", limit=limit)
    return value


def _checkbox(data: Any, name: str, default: bool) -> bool:
    """A checkbox field. HTML forms send a hidden ``name=""`` before the checkbox (so "unchecked" is
    sent too), so the **last** value counts; without the field (JSON, other callers) ``default``."""
    values = data.getlist(name) if hasattr(data, "getlist") else ([data[name]] if name in data else [])
    if not values:
        return default
    return str(values[-1]).strip().lower() in {"1", "true", "on", "yes"}


def form_values(data: Any) -> dict[str, str]:
    """The submitted form as a flat dict for re-rendering it, the last value of each field winning
    (as in ``_checkbox``)."""
    return {key: data.getlist(key)[-1] for key in data} if hasattr(data, "getlist") else dict(data)


def parse_local_datetime(raw: Any) -> datetime | None:
    """``YYYY-MM-DDTHH:MM`` (datetime-local) or ISO 8601 with offset; local values are site time."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=site_timezone())
    return value


def parse_poll(data: Any) -> PollInput:
    errors: dict[str, Any] = {}
    slug = _text(data, "slug", errors, limit=80).lower()
    if slug and not SLUG_RE.match(slug):
        errors["slug"] = _l("Nur Kleinbuchstaben, Ziffern und Bindestriche (3 bis 80 Zeichen).")
    elif slug in RESERVED_SLUGS:
        errors["slug"] = _l("Diese Adresse ist schon vergeben.")
    title = {"de": _text(data, "title_de", errors), "en": _text(data, "title_en", errors, required=False)}
    description = {
        "de": _text(data, "description_de", errors, required=False, limit=5000),
        "en": _text(data, "description_en", errors, required=False, limit=5000),
    }
    mode = data.get("mode") or ""
    if mode not in MODES:
        errors["mode"] = _l("Bitte wählen Sie eine Art der Teilnahme.")
    visibility = data.get("results_visibility") or ""
    if visibility not in VISIBILITIES:
        errors["results_visibility"] = _l("Bitte wählen Sie, wann die Ergebnisse sichtbar sind.")
    opens_at = parse_local_datetime(data.get("opens_at"))
    closes_at = parse_local_datetime(data.get("closes_at"))
    if opens_at is None:
        errors["opens_at"] = _l("Bitte geben Sie Datum und Uhrzeit an.")
    if closes_at is None:
        errors["closes_at"] = _l("Bitte geben Sie Datum und Uhrzeit an.")
    elif opens_at is not None and closes_at <= opens_at:
        errors["closes_at"] = _l("Das Ende muss nach dem Beginn liegen.")
    published = _checkbox(data, "published", default=True)
    if errors:
        raise Invalid(fields=errors)
    return PollInput(slug, title, description, mode, visibility, opens_at, closes_at, published)  # type: ignore[arg-type]


def parse_question(data: Any) -> QuestionInput:
    errors: dict[str, Any] = {}
    kind = data.get("kind") or ""
    if kind not in KINDS:
        errors["kind"] = _l("Bitte wählen Sie eine Art der Frage.")
    text = {"de": _text(data, "text_de", errors, limit=500), "en": _text(data, "text_en", errors,
                                                                         required=False, limit=500)}
    options: list[dict[str, str]] = []
    if kind in ("single", "multiple"):
        de_lines = [line.strip() for line in str(data.get("options_de") or "").splitlines() if line.strip()]
        en_lines = [line.strip() for line in str(data.get("options_en") or "").splitlines() if line.strip()]
        if len(de_lines) < 2:
            errors["options_de"] = _l("Bitte geben Sie mindestens zwei Antworten an, eine pro Zeile.")
        elif en_lines and len(en_lines) != len(de_lines):
            errors["options_en"] = _l("Bitte geben Sie gleich viele englische wie deutsche Antworten an.")
        elif any(len(line) > 200 for line in de_lines + en_lines):
            errors["options_de"] = _l("Eine Antwort ist zu lang (höchstens 200 Zeichen).")
        for index, line in enumerate(de_lines):
            options.append({"de": line, "en": en_lines[index] if index < len(en_lines) else ""})
    max_choices = None
    if kind == "multiple":
        raw = str(data.get("max_choices") or "").strip()
        if raw:
            if not raw.isdigit() or int(raw) < 1:
                errors["max_choices"] = _l("Bitte geben Sie eine ganze Zahl ab 1 an.")
            else:
                max_choices = int(raw)
    required = str(data.get("required", "")).lower() in {"1", "true", "on", "yes"}
    if errors:
        raise Invalid(fields=errors)
    return QuestionInput(kind, text, options, max_choices, required)


def parse_email(data: Any, name: str = "email") -> str:
    value = data.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if not EMAIL_RE.match(value) or len(value) > 254:
        raise Invalid(fields={name: _l("Bitte geben Sie eine gültige E-Mail-Adresse an, z. B. name@example.org.")})
    return value


def parse_suggestion(data: Any) -> SuggestionInput:
    errors: dict[str, Any] = {}
    title = _text(data, "title", errors, limit=200)
    text = _text(data, "text", errors, limit=5000)
    category = _text(data, "category", errors, required=False, limit=80) or None
    try:
        email = parse_email(data)
    except Invalid as exc:
        errors.update(exc.fields)
        email = ""
    if errors:
        raise Invalid(fields=errors)
    return SuggestionInput(title, text, category, email)


def answers_from_form(form: Any) -> dict[str, Any]:
    """Form fields ``q<id>`` (checkboxes give lists) → ``{"<id>": value}`` as the API sends them."""
    answers: dict[str, Any] = {}
    for key in form:
        if key.startswith("q") and key[1:].isdigit():
            values = form.getlist(key)
            answers[key[1:]] = values if len(values) > 1 else values[0]
    return answers


def answers_from_json(body: Any) -> dict[str, Any]:
    answers = body.get("answers") if isinstance(body, dict) else None
    if not isinstance(answers, dict):
        raise Invalid(fields={"answers": _l("Die Antworten fehlen.")})
    return {str(key): value for key, value in answers.items()}
