"""Issue 18.9: no public 500, whatever the input. A deterministic generator of nasty values (NUL and
control characters, huge and Unicode-digit numbers, extreme dates, 10k-character strings, JSON nested
1000 deep) walks every route of ``app.url_map`` as a visitor and as a logged-in administrator: path
arguments, query strings, the HTML forms the pages show and JSON bodies. Every answer must be below 500
and every 4xx must carry a message (the error page or ``{"error", "message"}``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter, Rule

from citizen_portal.core import schemas
from citizen_portal.core.schemas import Schema
from citizen_portal.site.schema import parse_site_file
from citizen_portal.site.services import apply_site
from tests.factories import log_in_session, make_user
from tests.polls.factories import make_poll

DEMO = Path(__file__).resolve().parents[1] / "demo" / "site.toml"

DEEP_JSON = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000

NASTY: tuple[str, ...] = (
    "\x00", "a\x00b", "\x1b[31mrot", "a\r\nBcc: x@example.org", "\u202eevil", "\ud800"[:0] + "\x7f",
    "²", "①", "٣", "１２", "-1", "0", "+5", str(2**63), str(2**64), "9" * 40, "1e309", "NaN",
    "0001-01-01", "9999-12-31", "9999-12", "0000-00", "0001-01", "2026-02-30", "10000-01-01",
    "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00", "9999-12-31T23:59", "x" * 10_000, "%00", "../../etc/passwd", "😀" * 3,
    "true", "[]", "{}",
)
HUGE_IDS = (2**63, 2**64, 10**30)
# JSON values of other types than text: huge and negative numbers, floats, nesting, null, booleans
TYPED: tuple[Any, ...] = (2**64, -(2**63) - 1, 10**400, 1.5, -0.0, 1e308, None, True, [], {}, [[["x"]]],
                          {"a": {"b": None}}, ["\x00"] * 3, "9999-12-31T23:59:59+00:00")
EXTRA_QUERY_NAMES = ("monat", "start", "end", "tag", "date", "datum", "token", "t", "r", "status", "next",
                     "from", "to", "week", "woche", "location", "room", "desk", "floor", "lang")


def _schema_field_names() -> set[str]:
    names: set[str] = set()
    todo = list(Schema.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        names.update(model.model_fields)
    return names


FIELD_NAMES = sorted(_schema_field_names() | set(EXTRA_QUERY_NAMES))
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')
INPUT = re.compile(r"<(input|select|textarea)\b([^>]*)>", re.I)


class Walker:
    """Sends requests through the test client and records every 5xx (or exception) and every 4xx
    without a message."""

    def __init__(self, client) -> None:
        self.client = client
        self.count = 0
        self.failures: dict[tuple[str, str, str], str] = {}  # (method, route, problem) -> first example

    def send(self, method: str, url: str, **kw: Any):
        self.count += 1
        try:
            response = self.client.open(url, method=method, **kw)
        except Exception as exc:  # an exception that reaches the test client would be a 500
            self._fail(method, url, f"{type(exc).__name__}: {str(exc)[:120]}", kw)
            return None
        if response.status_code >= 500:
            self._fail(method, url, str(response.status_code), kw)
        elif response.status_code >= 400 and not _has_message(response):
            self._fail(method, url, f"{response.status_code} without message", kw)
        return response

    def _fail(self, method: str, url: str, problem: str, kw: dict[str, Any]) -> None:
        adapter = self.client.application.url_map.bind("localhost")
        try:
            route = adapter.match(url.split("?")[0], method=method)[0]
        except Exception:
            route = url.split("?")[0][:60]
        self.failures.setdefault((method, route, problem), f"{url[:100]!r} {_short(kw)}")


def _short(kw: dict[str, Any]) -> str:
    return repr({key: (str(value)[:80]) for key, value in kw.items()})[:200]


def _has_message(response) -> bool:
    if response.is_json:
        body = response.get_json(silent=True) or {}
        graph_error = body.get("error") if isinstance(body.get("error"), dict) else {}
        # the platform's problem details (detail), older JSON errors (message), Graph's error body,
        # OAuth 2.0 token errors (RFC 6749: error_description)
        return bool(body.get("detail") or body.get("message") or graph_error.get("message")
                    or body.get("error_description"))
    return "<main" in response.get_data(as_text=True) or 'id="main"' in response.get_data(as_text=True)


KEYS_BY_ENDPOINT = {"booking_admin.location": "buergeramt", "booking_admin.staff": "mmueller",
                    "spaces_admin.floor": "rathaus-2og", "spaces_admin.desk": "2og-01",
                    "spaces_admin.room": "sitzungssaal", "spaces_api.room_availability": "sitzungssaal"}


def _path_values(rule: Rule, known: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Argument sets for a rule: the real keys first (so the view runs), then nasty values one at a time."""
    arguments = sorted(rule._converters)  # the path's placeholders (rule.arguments also holds defaults)
    base: dict[str, Any] = {}
    for name in arguments:
        converter = rule._converters[name]
        if hasattr(converter, "items"):  # any(...)
            base[name] = sorted(converter.items)[0]
        elif name == "key":
            base[name] = KEYS_BY_ENDPOINT.get(rule.endpoint, known["key"])
        else:
            base[name] = known.get(name, "x")
    yield dict(base)
    for name in arguments:
        converter = rule._converters[name]
        if hasattr(converter, "items"):
            continue
        if isinstance(converter, IntegerConverter):
            values = [str(value) for value in HUGE_IDS]
        else:
            values = [*[value for value in NASTY if "/" not in value and "\x00" not in value][::3], "a\x00b"]
        for value in values:
            yield {**base, name: value}


def _url(rule: Rule, values: dict[str, Any]) -> str:
    path = rule.rule
    for name, value in values.items():
        path = re.sub(r"<(?:[^>:]+:)?" + re.escape(name) + r">", str(value).replace("%", "%25")
                      .replace("?", "%3F").replace("#", "%23"), path)
    return path


def _one_each(value: Any) -> dict[str, Any]:
    """A body that reaches the field validators: ``value`` in each field of a rotating handful."""
    return {name: value for index, name in enumerate(FIELD_NAMES) if index % 7 == len(str(value)) % 7}


def _forms(html: str, page: str) -> list[tuple[str, list[str]]]:
    forms = []
    for attrs, body in FORM.findall(html):
        attributes = dict(ATTR.findall(attrs))
        if attributes.get("method", "get").lower() != "post":
            continue
        names = [dict(ATTR.findall(inner)).get("name") for _tag, inner in INPUT.findall(body)]
        forms.append((attributes.get("action") or page, [name for name in names if name and name != "csrf_token"]))
    return forms


def _seed() -> dict[str, str]:
    apply_site(parse_site_file(DEMO, "Europe/Berlin"))
    poll = make_poll(mode="open")
    from citizen_portal.core.extensions import db
    from polls.models import Suggestion

    suggestion = db.session.query(Suggestion).first()
    return {"service_key": "personalausweis", "location_key": "buergeramt", "key": "personalausweis",
            "slug": poll.slug, "poll_id": str(poll.id), "question_id": str(poll.questions[0].id),
            "suggestion_id": str(suggestion.id) if suggestion else "1", "floor_key": "rathaus-2og",
            "desk_key": "2og-01", "day": "2030-01-07", "batch_id": "1"}


@pytest.fixture
def walker(app, client) -> Walker:
    return Walker(client)


class _RecordingArgs(ImmutableMultiDict):
    """Query strings and forms that note which names a view reads (``get``, ``getlist``, ``in``, ``[]``)."""

    read: set[str] = set()

    def __getitem__(self, key):
        _RecordingArgs.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):
        _RecordingArgs.read.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):
        _RecordingArgs.read.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        _RecordingArgs.read.add(key)
        return super().__contains__(key)


def _names_read(walker: Walker, url: str, monkeypatch) -> set[str]:
    """The query names a GET of ``url`` reads: by ``request.args.get`` and friends, or as fields of
    the schema it parses the query string with."""
    _RecordingArgs.read = set()
    models: list[type] = []
    original = schemas.form_data

    def recording_form_data(model, form):
        models.append(model)
        return original(model, form)

    with monkeypatch.context() as patch:
        patch.setattr(schemas, "form_data", recording_form_data)
        walker.client.get(url, query_string={"probe": "1"})
    read = set(_RecordingArgs.read) - {"probe"}
    for model in models:
        read.update(model.model_fields)
    return read


def _walk(walker: Walker, known: dict[str, str], monkeypatch) -> None:
    app = walker.client.application

    class RecordingRequest(app.request_class):
        parameter_storage_class = _RecordingArgs

    monkeypatch.setattr(app, "request_class", RecordingRequest)
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint not in {"static", "auth.logout"}]
    pages: list[str] = []
    for rule in rules:
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for number, values in enumerate(_path_values(rule, known)):
            url = _url(rule, values)
            for method in methods:
                if method == "GET":
                    response = walker.send("GET", url)
                    if number > 0 or response is None:
                        continue
                    if response.status_code == 200 and "text/html" in response.content_type:
                        pages.append(url)
                    for name in sorted(_names_read(walker, url, monkeypatch)):  # every nasty value per name read
                        for value in NASTY:
                            walker.send("GET", url, query_string={name: value})
                elif url.startswith("/api/"):
                    walker.send(method, url, data=DEEP_JSON, content_type="application/json")
                    walker.send(method, url, data=DEEP_OBJECT, content_type="application/json")
                    for offset in range(0, len(NASTY), 6 if number == 0 else 18):
                        body = {name: NASTY[(index + offset) % len(NASTY)] for index, name in enumerate(FIELD_NAMES)}
                        walker.send(method, url, json=body)
                        walker.send(method, url, json={name: value for name, value in list(body.items())[:3]})
                    if number == 0:
                        for value in TYPED:
                            walker.send(method, url, json=dict.fromkeys(FIELD_NAMES, value))
                            walker.send(method, url, json=_one_each(value))
                else:
                    walker.send(method, url, data={name: NASTY[i % len(NASTY)] for i, name in enumerate(FIELD_NAMES)})
    # the HTML forms the pages show: every field nasty at once, one value of the list after the other
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for page in dict.fromkeys(pages):
        html = walker.client.get(page).get_data(as_text=True)
        for action, names in _forms(html, page):
            key = (action.split("?")[0], tuple(names))
            if key in seen or "abmelden" in action:
                continue
            seen.add(key)
            for value in NASTY:
                walker.send("POST", action.replace("&amp;", "&"), data={name: value for name in names})


@pytest.mark.parametrize("role", ["visitor", "visitor with captcha", "admin"])
def test_no_route_answers_5xx_to_nasty_input(app, client, walker, role, monkeypatch):
    known = _seed()
    if role == "visitor with captcha":
        monkeypatch.setitem(app.config, "CAPTCHA", "on")
    if role == "admin":
        admin = make_user(roles="admin")
        with client.session_transaction() as session:
            log_in_session(session, admin)
    _walk(walker, known, monkeypatch)
    print(f"fuzz ({role}): {walker.count} requests, {len(walker.failures)} failures")
    for (method, route, problem), example in sorted(walker.failures.items()):
        print("FUZZ-FAILURE", method, route, problem, "e.g.", example)
    assert walker.count > 1000
    assert sorted(walker.failures) == []
