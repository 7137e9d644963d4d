"""Microsoft-Graph conventions for ``/graph/v1.0`` (the Graph-compatible subset of the platform).

Each package serves its own Graph resources from a blueprint made by ``graph_blueprint`` (thin
adapters over its services); this module holds what they share, once:

- errors: every failure under ``/graph/`` is ``{"error": {"code", "message", "innerError": {"date",
  "request-id", "client-request-id"}}}`` with ``Content-Type: application/json``: ``NotFound`` →
  404 ``ErrorItemNotFound``, ``Invalid`` → 400 ``ErrorInvalidRequest``, ``Forbidden`` → 403
  ``ErrorAccessDenied``, ``Conflict`` → 409 ``ErrorConflict`` (the platform's code in ``innerError``),
  ``PreconditionFailed`` → 412 ``ErrorIrresolvableConflict``, 401 ``InvalidAuthenticationToken``,
  429 ``TooManyRequests`` with an integer ``Retry-After``;
- requests: ``//`` in the path collapsed (the SDK sends it after a base URL with a trailing slash),
  ``Prefer: outlook.timezone`` with Windows or IANA names (echoed in ``Preference-Applied``),
  ``dateTimeTimeZone`` values read in their zone (a missing offset or zone is UTC);
- responses: ``dateTime`` as ``YYYY-MM-DDTHH:MM:SS.0000000``, ``$select``, ``$top`` (and the
  ``$skiptoken`` of an absolute ``@odata.nextLink``), a ``request-id`` header;
- access: ``authorize_graph(permission)``, the one place that decides who may call what;
- mailboxes: the staff members and rooms a package offers as Graph users (``register_mailboxes``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
import time as time_module
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Flask, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from citizen_portal.core.access import Unauthorized, bearer_token, current_principal
from citizen_portal.core.api_clients import Principal
from citizen_portal.core.errors import DomainError, Forbidden, Invalid, NotFound, add_error_renderer
from citizen_portal.core.extensions import csrf, db, limiter
from citizen_portal.core.i18n import _l
from citizen_portal.core.models import User

PREFIX = "/graph/v1.0"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.0000000"

# Graph permission names are scopes of the platform's one registry (``core.scopes``): API clients hold
# the ones they were given, a person's token the ones her roles imply. Reading users needs Calendars.Read.
USERS_PERMISSION = "Calendars.Read"

# Windows time-zone names (CLDR windowsZones, territory 001) of the zones Graph clients in Europe send
WINDOWS_ZONES = {
    "UTC": "UTC", "Coordinated Universal Time": "UTC",
    "W. Europe Standard Time": "Europe/Berlin", "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw", "Romance Standard Time": "Europe/Paris",
    "GMT Standard Time": "Europe/London", "Greenwich Standard Time": "Atlantic/Reykjavik",
    "E. Europe Standard Time": "Europe/Chisinau", "FLE Standard Time": "Europe/Kiev",
    "GTB Standard Time": "Europe/Bucharest", "Russian Standard Time": "Europe/Moscow",
    "Turkey Standard Time": "Europe/Istanbul", "Israel Standard Time": "Asia/Jerusalem",
    "Eastern Standard Time": "America/New_York", "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver", "Pacific Standard Time": "America/Los_Angeles",
    "Tokyo Standard Time": "Asia/Tokyo", "China Standard Time": "Asia/Shanghai",
    "India Standard Time": "Asia/Calcutta", "AUS Eastern Standard Time": "Australia/Sydney",
}
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


# --------------------------------------------------------------------------- errors


class PreconditionFailed(DomainError):
    status = 412
    code = "precondition_failed"
    default_message = _l("Der Änderungsschlüssel (If-Match) passt nicht mehr zum aktuellen Stand des Eintrags.")


GRAPH_CODES = {400: "ErrorInvalidRequest", 401: "InvalidAuthenticationToken", 403: "ErrorAccessDenied",
               404: "ErrorItemNotFound", 405: "ErrorInvalidRequest", 409: "ErrorConflict",
               412: "ErrorIrresolvableConflict", 413: "ErrorRequestTooLarge", 415: "ErrorInvalidRequest",
               429: "TooManyRequests", 500: "generalException", 503: "serviceNotAvailable"}


def is_graph_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def error_response(status: int, message: Any, *, inner: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None):
    """The Graph error envelope with ``status`` (code from ``GRAPH_CODES``)."""
    inner_error = {"date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "request-id": request_id(),
                   "client-request-id": request.headers.get("client-request-id", request_id())}
    inner_error.update(inner or {})
    body = {"error": {"code": GRAPH_CODES.get(status, "generalException"), "message": str(message),
                      "innerError": inner_error}}
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def render_domain_error(error: DomainError):
    """A platform error as a Graph error: the platform's own code and field messages go to ``innerError``."""
    inner: dict[str, Any] = {"code": error.code}
    if error.fields:
        inner["fields"] = {key: str(value) for key, value in error.fields.items()}
    inner.update({key: value for key, value in error.extra.items() if key not in ("date", "request-id")})
    headers = dict(error.headers)
    if error.status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="graph"'}
    return error_response(error.status, error.message, inner=inner, headers=headers)


def render_http_error(exc: HTTPException, message: Any):
    status = exc.code or 500
    headers: dict[str, str] = {}
    if status == 429:
        headers["Retry-After"] = str(_retry_after_seconds(exc))
        message = _l("Zu viele Anfragen. Bitte versuchen Sie es nach der in Retry-After genannten Zahl von "
                     "Sekunden erneut.")
    return error_response(status, message, inner={"code": str(status), "status": str(status)}, headers=headers)


def _retry_after_seconds(exc: HTTPException) -> int:
    """An integer number of seconds (kiota ignores fractions): until the limiter's window resets, at least 1."""
    current = limiter.current_limit
    if current is not None:
        return max(1, math.ceil(current.reset_at - time_module.time()))
    return 1


# --------------------------------------------------------------------------- the blueprint


def graph_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under ``/graph/v1.0`` (exempt from CSRF: bearer tokens only, no cookies), rate-limited
    by ``PORTAL_GRAPH_RATE_LIMIT`` per token, every request authenticated by ``authorize_graph``
    in its views."""
    bp = Blueprint(name, import_name, url_prefix=PREFIX)
    csrf.exempt(bp)
    limiter.limit(lambda: current_app.config["GRAPH_RATE_LIMIT"], key_func=_rate_key, scope="graph")(bp)
    return bp


def _rate_key() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "graph-token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    return "graph-ip:" + (request.remote_addr or "?")


class GraphWsgi:
    """WSGI middleware for ``/graph/``: ``//`` in PATH_INFO becomes ``/`` (no 308 round trip), and the
    ``Retry-After`` of a 429 is a whole number of seconds of at least 1 (the rate limiter writes the
    seconds left, which can round to 0; kiota then ignores it)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable):
        path = environ.get("PATH_INFO", "")
        collapsed = re.sub("/{2,}", "/", path)
        if not collapsed.startswith(PREFIX):
            return self.app(environ, start_response)
        environ["PATH_INFO"] = collapsed

        def start(status: str, headers: list[tuple[str, str]], exc_info=None):
            if status.startswith("429"):
                kept = [(k, v) for k, v in headers if k.lower() != "retry-after"]
                seconds = next((v for k, v in headers if k.lower() == "retry-after"), "1")
                kept.append(("Retry-After", str(max(1, int(seconds)) if seconds.isdigit() else 1)))
                headers = kept
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def init_app(app: Flask) -> None:
    """Graph request and response conventions for every blueprint under ``/graph/v1.0``."""
    app.wsgi_app = GraphWsgi(app.wsgi_app)  # type: ignore[method-assign]
    app.after_request(_graph_headers)
    add_error_renderer(app, PREFIX, render_domain_error, render_http_error)
    app.extensions["graph_mailbox_sources"] = []


def _graph_headers(response):
    if not is_graph_request():
        return response
    if response.status_code not in (204, 304) and response.mimetype != "application/json":
        response.headers["Content-Type"] = "application/json"
    response.headers["request-id"] = request_id()
    if "client-request-id" in request.headers:
        response.headers["client-request-id"] = request.headers["client-request-id"][:100]
    applied = getattr(g, "graph_preference_applied", None)
    if applied:
        response.headers["Preference-Applied"] = ", ".join(applied)
    return response


def request_id() -> str:
    if "graph_request_id" not in g:
        g.graph_request_id = str(uuid.uuid4())
    return g.graph_request_id


# --------------------------------------------------------------------------- access


@dataclass(frozen=True)
class GraphCaller:
    """Who calls: a person (``user``, her personal token) or an API client (``user`` is ``None``);
    ``principal`` carries the scopes and the client's restrictions to locations and staff members."""

    principal: Principal
    user: Any = None

    @property
    def username(self) -> str | None:
        return self.principal.username if self.principal.kind == "user" else None

    def sees(self, box: Mailbox) -> bool:
        """A client restricted to staff members sees only their mailboxes (rooms: every one)."""
        return box.kind != "staff" or self.principal.sees_staff(box.key)


def authorize_graph(permission: str) -> GraphCaller:
    """The one access check of the Graph API: a bearer token (an API client's access token from
    ``POST /oauth/token``, or a person's token from ``flask users token create``) holding the Graph
    permission as a scope (``core.scopes``). No token or a bad one → 401 ``InvalidAuthenticationToken``
    (cookies are not accepted here: the blueprints are exempt from CSRF); the scope missing → 403
    ``ErrorAccessDenied``. The caller is kept for this request (``current_caller``)."""
    if bearer_token() is None:
        raise Unauthorized(_l("Das Zugriffstoken fehlt."))
    principal = current_principal()
    if principal is None:
        raise Unauthorized(_l("Das Zugriffstoken ist ungültig oder widerrufen."))
    if not principal.has(permission):
        raise Forbidden(_l("Diesem Zugriffstoken fehlt die Berechtigung %(permission)s.", permission=permission))
    user = db.session.get(User, principal.user_id) if principal.kind == "user" else None
    g.graph_caller = GraphCaller(principal, user)
    return g.graph_caller


def current_caller() -> GraphCaller | None:
    return g.get("graph_caller")


# --------------------------------------------------------------------------- mailboxes (users)


@dataclass(frozen=True)
class Mailbox:
    """A Graph user: a staff member or a room. ``id`` is stable and has no ``/``; ``kind`` is "staff" or
    "room"; ``key`` the owner's key in its package; ``calendar_key`` its CalDAV calendar link, if any;
    ``working_hours`` ``{"mon": ["08:00-12:00"], ...}`` in the site zone (getSchedule)."""

    id: str
    kind: str
    key: str
    display_name: str
    mail: str
    calendar_key: str | None = None
    working_hours: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "displayName": self.display_name, "mail": self.mail,
                "userPrincipalName": self.mail, "givenName": None, "surname": None,
                "jobTitle": "Raum" if self.kind == "room" else None, "businessPhones": []}


def register_mailboxes(app: Flask, source: Callable[[], Iterable[Mailbox]]) -> None:
    """Offer the mailboxes ``source()`` lists as Graph users (called per request, in an app context)."""
    app.extensions.setdefault("graph_mailbox_sources", []).append(source)


def mailboxes() -> list[Mailbox]:
    """Every mailbox the caller of this request may see (all of them outside a Graph request)."""
    caller = current_caller()
    found: list[Mailbox] = []
    for source in current_app.extensions.get("graph_mailbox_sources", []):
        found.extend(box for box in source() if caller is None or caller.sees(box))
    return sorted(found, key=lambda box: (box.kind, box.display_name.lower(), box.id))


def find_mailbox(ident: str, *, kind: str | None = None) -> Mailbox:
    """The mailbox with this id or e-mail address (case-insensitive); ``NotFound`` otherwise."""
    wanted = ident.strip().lower()
    for box in mailboxes():
        if (box.id.lower() == wanted or box.mail.lower() == wanted) and (kind is None or box.kind == kind):
            return box
    raise NotFound(_l("Das Postfach %(ident)s gibt es hier nicht.", ident=ident[:100]))


def own_mailbox(caller: GraphCaller) -> Mailbox:
    """``/me``: the staff mailbox whose key is the caller's username; ``NotFound`` if she has none (an
    API client has none)."""
    for box in mailboxes() if caller.username else []:
        if box.kind == "staff" and box.key == caller.username:
            return box
    raise NotFound(_l("Zu diesem Zugriffstoken gehört kein Postfach."))


# --------------------------------------------------------------------------- time zones and dateTime


def zone_named(name: str | None) -> ZoneInfo | None:
    """The zone of a Windows or IANA name (``None`` when unknown)."""
    if not name:
        return None
    name = name.strip().strip('"')
    if name in WINDOWS_ZONES:
        return ZoneInfo(WINDOWS_ZONES[name])
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def preferred_timezone() -> tuple[str, ZoneInfo]:
    """``Prefer: outlook.timezone="<Windows or IANA name>"`` (name as sent, zone); UTC without it. An
    honoured preference is echoed in ``Preference-Applied``; unknown names and other preferences are
    ignored."""
    for part in _prefer_parts():
        key, _, value = part.partition("=")
        if key.strip().lower() == "outlook.timezone":
            name = value.strip().strip('"')
            zone = zone_named(name)
            if zone is not None:
                applied = g.setdefault("graph_preference_applied", [])
                if part.strip() not in applied:
                    applied.append(f'outlook.timezone="{name}"')
                return name, zone
    return "UTC", ZoneInfo("UTC")


def preferred_page_size() -> int | None:
    for part in _prefer_parts():
        key, _, value = part.partition("=")
        if key.strip().lower() == "odata.maxpagesize" and value.strip().isdigit():
            return max(1, min(int(value.strip()), MAX_PAGE_SIZE))
    return None


def _prefer_parts() -> list[str]:
    return [part for header in request.headers.getlist("Prefer") for part in header.split(",") if part.strip()]


def format_moment(moment: datetime, zone_name: str, zone: ZoneInfo) -> dict[str, str]:
    """A ``dateTimeTimeZone``: ``YYYY-MM-DDTHH:MM:SS.0000000`` in ``zone``, named as the client named it."""
    return {"dateTime": moment.astimezone(zone).strftime(DATETIME_FORMAT), "timeZone": zone_name}


def format_utc(moment: datetime) -> str:
    """A DateTimeOffset in UTC (``...Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_moment(value: Any, field_name: str) -> datetime:
    """An aware UTC datetime from a ``dateTimeTimeZone`` (``{"dateTime", "timeZone"}``) or an ISO string;
    no zone and no offset is UTC. ``Invalid`` with the field's name otherwise."""
    if isinstance(value, dict):
        values = {str(k).lower(): v for k, v in value.items()}
        text, zone_name = values.get("datetime"), values.get("timezone")
    else:
        text, zone_name = value, None
    if not isinstance(text, str) or not text.strip():
        raise Invalid(fields={field_name: _l("Bitte geben Sie Datum und Uhrzeit an.")})
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Graph's seven fraction digits
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(fields={field_name: _l("Datum und Uhrzeit sind nicht lesbar (erwartet: "
                                             "YYYY-MM-DDTHH:MM:SS).")}) from None
    if moment.tzinfo is None:
        zone = zone_named(zone_name) if zone_name else ZoneInfo("UTC")
        if zone is None:
            raise Invalid(fields={field_name: _l("Unbekannte Zeitzone %(zone)s.", zone=str(zone_name)[:60])})
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def query_moment(name: str) -> datetime:
    """A required query parameter such as ``startDateTime`` (offset as given; none means UTC)."""
    value = request.args.get(name)
    if not value:
        raise Invalid(fields={name: _l("Dieser Parameter fehlt.")})
    return parse_moment(value, name)


def query_range() -> tuple[datetime, datetime]:
    start, end = query_moment("startDateTime"), query_moment("endDateTime")
    if end <= start:
        raise Invalid(fields={"endDateTime": _l("Das Ende muss nach dem Beginn liegen.")})
    if (end - start).days > 1830:
        raise Invalid(fields={"endDateTime": _l("Der Zeitraum darf höchstens fünf Jahre umfassen.")})
    return start, end


def time_of_day(value: time) -> str:
    return value.strftime("%H:%M:%S.0000000")


# --------------------------------------------------------------------------- ids and bodies


def encode_id(text: str) -> str:
    """An id without ``/``: URL-safe base64 of ``text`` without padding."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_id(ident: str) -> str:
    """The text behind ``encode_id``; ``NotFound`` for anything that is not one."""
    try:
        return base64.urlsafe_b64decode(ident + "=" * (-len(ident) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise NotFound() from None


def json_body() -> dict[str, Any]:
    """The request's JSON object (``@odata.type`` annotations tolerated); ``Invalid`` otherwise."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid(_l("Bitte senden Sie ein JSON-Objekt."))
    return body


def lower_keys(body: dict[str, Any]) -> dict[str, Any]:
    """Action parameters case-insensitively (the Python SDK sends PascalCase ``Schedules``, the docs camelCase)."""
    return {str(key).lower(): value for key, value in body.items()}


def as_int(value: Any, field_name: str, *, default: int, low: int, high: int) -> int:
    """An integer parameter that may arrive as a string; ``Invalid`` outside ``[low, high]``."""
    if value is None or value == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise Invalid(fields={field_name: _l("Bitte eine ganze Zahl angeben.")}) from None
    if not low <= number <= high:
        raise Invalid(fields={field_name: _l("Erlaubt sind %(low)s bis %(high)s.", low=low, high=high)})
    return number


# --------------------------------------------------------------------------- collections


def selected(item: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """``$select``: only the named properties (plus ``id`` and ``@odata.*`` annotations)."""
    if not fields:
        return item
    wanted = {name.lower() for name in fields}
    return {key: value for key, value in item.items()
            if key == "id" or key.startswith("@") or key.lower() in wanted}


def select_fields() -> list[str] | None:
    raw = request.args.get("$select")
    if raw is None:
        return None
    fields = [name.strip() for name in raw.split(",") if name.strip()]
    if not fields:
        raise Invalid(fields={"$select": _l("Bitte mindestens eine Eigenschaft nennen.")})
    return fields


UNSUPPORTED_OPTIONS = ("$filter", "$search", "$expand", "$apply")


def reject_unsupported_options(*allowed: str) -> None:
    """Options the endpoint does not implement are refused (never silently ignored: a filter that is not
    applied would hand a booking client wrong data)."""
    for name in UNSUPPORTED_OPTIONS:
        if name in request.args and name not in allowed:
            raise Invalid(_l("Die Abfrageoption %(option)s wird hier nicht unterstützt.", option=name),
                          code="unsupported_query_option")


def collection(items: list[dict[str, Any]], *, context: str, default_top: int = DEFAULT_PAGE_SIZE,
               fields: list[str] | None = None, extra: dict[str, Any] | None = None):
    """A Graph collection page: ``$top`` (or ``Prefer: odata.maxpagesize``), ``$skiptoken`` (an offset),
    ``$select``, ``$count=true``; ``@odata.nextLink`` is absolute and carries the other query options."""
    top = as_int(request.args.get("$top"), "$top", default=preferred_page_size() or default_top,
                 low=1, high=MAX_PAGE_SIZE)
    offset = _skip_offset()
    page = items[offset: offset + top]
    body: dict[str, Any] = {"@odata.context": f"{request.host_url.rstrip('/')}{PREFIX}/$metadata#{context}"}
    if request.args.get("$count", "").lower() == "true":
        body["@odata.count"] = len(items)
    body["value"] = [selected(item, fields) for item in page]
    if offset + top < len(items):
        body["@odata.nextLink"] = absolute_link({"$skiptoken": encode_id(f"o{offset + top}")})
    body.update(extra or {})
    return jsonify(body)


def _skip_offset() -> int:
    token = request.args.get("$skiptoken")
    skip = request.args.get("$skip")
    if token:
        text = decode_id(token) if token else ""
        if not (text.startswith("o") and text[1:].isdigit()):
            raise Invalid(fields={"$skiptoken": _l("Dieses Seitentoken ist ungültig.")})
        return int(text[1:])
    return as_int(skip, "$skip", default=0, low=0, high=10**7)


def absolute_link(replace: dict[str, str], *, path: str | None = None, drop: Iterable[str] = ()) -> str:
    """This request's URL (public host, ``path`` or the request's path) with query options replaced."""
    args = [(key, value) for key, value in request.args.items(multi=True)
            if key not in replace and key not in drop and key != "$skip"]
    args += list(replace.items())
    return f"{request.host_url.rstrip('/')}{path or request.path}?{urlencode(args, safe='$:,')}"


def created(body: dict[str, Any]):
    response = jsonify(body)
    response.status_code = 201
    return response


def accepted():
    return current_app.response_class(status=202)


def no_content():
    return current_app.response_class(status=204)
