"""The ``/api/v1`` operation registry: every API view declares itself once, and the OpenAPI document
(``core/openapi.py``) is generated from these declarations and the pydantic models they name.

    @operation(bp, "GET", "/appointments/<code>", summary=_l("Termin anzeigen"), scope="appointments.read",
               responses={200: AppointmentOut, 404: Problem}, tags=("appointments",))
    def show_appointment(code: str) -> AppointmentOut: ...

Rules of an operation (``operation``'s wrapper):
- its rate ``limits`` (flask-limiter decorators) count first; then ``authorize(operation)``, the one
  access hook (today: roles via a bearer API token or a staff session; scope checks for API clients).
- an integer path variable outside 1..``MAX_PATH_ID`` is 404 (no row can have it);
- ``query`` is parsed from the query string, ``body`` from the JSON body (a model without required
  fields also accepts an empty body) and passed to the view as ``query=`` / ``body=``; bad input is a
  400 problem with ``fields`` (``core.schemas``).
- The view returns an ``Out`` model (status: the operation's first 2xx), ``(model, status)``,
  ``(model, status, headers)``, ``None`` (204) or a finished ``Response`` (a cached JSON string).
- HTTP semantics (``core.api_http``): lists are paginated (``paginated=`` names the list), GET answers
  carry an ETag (304 on ``If-None-Match``), PATCH/DELETE honour ``If-Match`` (412), a POST with an
  ``Idempotency-Key`` is answered once and replayed (``core.idempotency``).
- Error statuses every operation can answer are added to the document by ``implied_statuses``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache, wraps
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from pydantic import BaseModel, ConfigDict, Field
from werkzeug.exceptions import HTTPException

from citizen_portal.core import api_http, idempotency, scopes
from citizen_portal.core.access import Unauthorized, authenticate_api_request, bearer_token, require_scope
from citizen_portal.core.api_clients import ACCESS_TOKEN_PREFIX
from citizen_portal.core.errors import Forbidden, NotFound
from citizen_portal.core.i18n import _l
from citizen_portal.core.jobs import register_job
from citizen_portal.core.schemas import parse_form, parse_json

API_PREFIX = "/api/v1"
MAX_PATH_ID = 2**31 - 1  # ids are INTEGER columns (32 bits in PostgreSQL)

# Least-privilege permissions per area: the one registry is ``core.scopes.SCOPES`` (with the Graph names).
SCOPES = scopes.SCOPES

# Access kinds: who may call an operation before scopes are checked.
PUBLIC = "public"  # anyone (citizens' endpoints)
MANAGE_TOKEN = "manage_token"  # the citizen's manage token as ``Authorization: Bearer`` (checked by the service)
USER = "user"  # a staff member: bearer API token or staff session (with ``roles``)
CLIENT = "client"  # an API client's access token (e.g. its own webhook subscriptions)


class Out(BaseModel):
    """Base of every API answer model: what the view returns and the document describes."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Problem(Out):
    """An error as RFC 9457 problem details (``application/problem+json``), with the platform's stable
    ``error`` code and the field messages ``fields`` as extension members."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI of the problem type", examples=["/api/v1/problems/invalid"])
    title: str = Field(description="Short, translated summary of the problem type")
    status: int = Field(description="HTTP status code", examples=[400])
    detail: str = Field(description="Translated explanation of this occurrence")
    error: str = Field(description="Stable machine-readable error code", examples=["invalid"])
    fields: dict[str, str] = Field(default_factory=dict, description="Translated message per invalid field",
                                   examples=[{"start": "Bitte wählen Sie eine Zeit."}])


@dataclass(frozen=True)
class Operation:
    """One ``/api/v1`` operation as declared by its view."""

    method: str
    path: str  # the Flask rule below ``/api/v1``, e.g. ``/desk-bookings/<int:booking_id>``
    endpoint: str
    summary: Any
    scope: str
    responses: dict[int, type[BaseModel] | None]
    description: Any = None
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    tags: tuple[str, ...] = ()
    access: str = PUBLIC
    roles: tuple[str, ...] = ()
    rate_limited: bool = False
    paginated: str | None = None  # the key of the answer's list, cut into pages (``core.api_http``)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def success_status(self) -> int:
        return min(status for status in self.responses if 200 <= status < 300)

    @property
    def openapi_path(self) -> str:
        """``/desk-bookings/{booking_id}`` (with the ``/api/v1`` prefix)."""
        return API_PREFIX + re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", self.path)

    def path_parameters(self) -> Iterator[tuple[str, str]]:
        """(name, Flask converter) of each path variable."""
        for converter, name in re.findall(r"<(?:([a-z]+):)?([a-z_]+)>", self.path):
            yield name, converter or "string"

    @property
    def operation_id(self) -> str:
        return self.endpoint.rsplit(".", 1)[-1]


def authorize(operation: Operation) -> None:
    """The access hook every operation passes first. Rules:
    - ``USER``: a bearer token or a staff session (401 without) holding the operation's ``scope``
      (a person's token or session: the scopes of her roles; 403 ``insufficient_scope``) and one of its
      ``roles`` (403; an API client holds no role: such operations act as a person);
    - ``CLIENT``: an API client's access token (401 without) with the ``scope`` (403), not a person (403);
    - ``PUBLIC`` and ``MANAGE_TOKEN``: anyone may call (the manage token is checked by the service), but
      an API client's access token sent along must hold the ``scope`` (403), so a client is never
      more than its scopes.
    """
    if operation.access == USER:
        require_scope(operation.scope)
        authenticate_api_request(*operation.roles)
    elif operation.access == CLIENT:
        principal = require_scope(operation.scope)
        if principal is None or principal.kind != "client":
            raise Forbidden(_l("Nur ein API-Client kann diese Operation aufrufen (mit seinem Zugriffstoken)."))
    else:
        token = bearer_token()
        if token is not None and token.startswith(ACCESS_TOKEN_PREFIX):
            require_scope(operation.scope)
        elif operation.access == MANAGE_TOKEN and token is None:
            raise Unauthorized(_l("Bitte senden Sie den Verwaltungsschlüssel als Bearer-Token."))


def _body_is_optional(model: type[BaseModel]) -> bool:
    return not any(info.is_required() for info in model.model_fields.values())


def parse_body(model: type[BaseModel]) -> BaseModel:
    """The JSON body as ``model``; a model without required fields also takes an empty body."""
    if _body_is_optional(model) and not request.get_data():
        return model.model_validate({})
    return parse_json(model, request.get_json(silent=True))


def parse_query(model: type[BaseModel], *, ignore: frozenset[str] = frozenset()) -> BaseModel:
    return parse_form(model, request.args, ignore=ignore | {"csrf_token"})


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """An ``Out`` model (or plain JSON data) as an ``application/json`` response."""
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json", by_alias=True, exclude_unset=True)
    response = current_app.response_class(current_app.json.dumps(payload) + "\n", status=status,
                                          mimetype="application/json")
    response.headers.update(headers or {})
    return response


@lru_cache(maxsize=api_http.BODY_MEMO_SIZE)
def _encoded(body: str) -> bytes:
    return (body.rstrip("\n") + "\n").encode()


def raw_json_response(body: str, status: int = 200) -> Response:
    """A JSON string already serialised by a service (its cached answer), encoded once: every hit
    serves the same bytes, whose ETag and item count ``api_http`` then computes once."""
    return current_app.response_class(_encoded(body), status=status, mimetype="application/json")


def _reply(operation: Operation, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    status, headers = operation.success_status, None
    if isinstance(result, tuple):
        result, status, *rest = result
        headers = rest[0] if rest else None
    if result is None:
        response = current_app.response_class(status=204 if status == operation.success_status else status)
        response.headers.update(headers or {})
        return response
    return json_response(result, status, headers)


def operation(
    bp: Blueprint,
    method: str,
    path: str,
    *,
    summary: Any,
    scope: str,
    responses: dict[int, type[BaseModel] | None],
    description: Any = None,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    tags: tuple[str, ...] | list[str] = (),
    access: str = PUBLIC,
    roles: tuple[str, ...] = (),
    limits: tuple[Callable[[Callable[..., Any]], Callable[..., Any]], ...] = (),
    paginated: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Declare and route one API operation (see the module docstring for what the wrapper does)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    if not any(200 <= status < 300 for status in responses):
        raise ValueError(f"{method} {path}: no success response declared")
    if access not in (PUBLIC, MANAGE_TOKEN, USER, CLIENT):
        raise ValueError(f"unknown access {access!r}")

    def decorator(view: Callable[..., Any]) -> Callable[..., Response]:
        declared = Operation(
            method=method.upper(), path=path, endpoint=f"{bp.name}.{view.__name__}", summary=summary,
            scope=scope, responses=dict(responses), description=description, query=query, body=body,
            tags=tuple(tags), access=access, roles=tuple(roles) or (("staff",) if access == USER else ()),
            rate_limited=bool(limits), paginated=paginated)

        @wraps(view)
        def handle(**path_values: Any) -> Response:
            authorize(declared)
            if any(isinstance(value, int) and not 1 <= value <= MAX_PATH_ID for value in path_values.values()):
                raise NotFound()  # no such id: beyond what the id columns hold
            if declared.method in ("PATCH", "DELETE") and "If-Match" in request.headers:
                current = _current_representation()
                if current is not None:
                    api_http.check_if_match(current)
            key = idempotency.request_key() if declared.method == "POST" else None
            if key is not None:
                replayed = idempotency.replay(key)
                if replayed is not None:
                    return replayed
            window = api_http.page_window() if declared.paginated else None
            arguments = dict(path_values)
            if declared.query is not None:
                arguments["query"] = parse_query(declared.query, ignore=api_http.PAGING_PARAMETERS
                                                 if declared.paginated else frozenset())
            if declared.body is not None:
                arguments["body"] = parse_body(declared.body)
            response = _reply(declared, view(**arguments))
            if response.status_code == 200 and declared.paginated and window is not None:
                response = api_http.paginate(response, declared.paginated, window)
            if response.status_code == 200 and declared.method == "GET":
                response = api_http.conditional(response)
            if key is not None:
                idempotency.remember(key, response)
            return response

        wrapped = handle
        for limit in reversed(limits):  # rate limits first: before access checks and parsing
            wrapped = limit(wrapped)
        wrapped.api_operation = declared  # type: ignore[attr-defined]
        wrapped.api_handle = handle  # type: ignore[attr-defined]  # without the rate limits: If-Match reads it
        bp.add_url_rule(path, view_func=wrapped, methods=[declared.method])
        return wrapped

    return decorator


def _current_representation() -> Response | None:
    """The answer of the GET operation on the request's path (for ``If-Match``), if there is one."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        endpoint, values = adapter.match(request.path, method="GET")
    except HTTPException:
        return None
    handle = getattr(current_app.view_functions.get(endpoint), "api_handle", None)
    return handle(**values) if handle is not None else None


def init_app(app: Flask) -> None:
    """Headers every API answer gets: the IETF rate-limit fields (Flask runs after-request functions
    last-registered first; this one must run after flask-limiter's, which writes the headers it reads);
    the worker's job "api-idempotency" removes stored answers past their replay window."""
    app.after_request_funcs.setdefault(None, []).insert(0, api_http.rate_limit_fields)
    register_job(app, "api-idempotency", idempotency.purge, 3600, order=90)


def operations(app: Flask) -> list[tuple[str, Operation]]:
    """Every registered operation of ``app`` as (rule, operation), in the order of the URL map."""
    found = []
    for rule in app.url_map.iter_rules():
        declared = getattr(app.view_functions.get(rule.endpoint), "api_operation", None)
        if declared is not None:
            found.append((rule.rule, declared))
    return found
