"""The OpenAPI 3.1 document of ``/graph/v1.0`` (``GET /graph/v1.0/openapi.json``), generated from the app's
URL map and the views themselves, so it lists exactly what is served.

Rules of the document (``build_document``):
- every rule under ``/graph/v1.0`` with each of its methods (HEAD and OPTIONS left out) is one operation;
  path variables become path parameters (``<ident>`` → ``{ident}``);
- what an operation needs and answers is read from its view's code (the view and the functions of the
  Graph adapter modules it calls, two levels deep): the permission passed to ``authorize_graph`` (the
  scope of its security; ``None``: any valid token), the pydantic model given to ``parse`` (the request
  body's schema, by alias), the query options of the helpers it calls (``query_range`` →
  ``startDateTime``/``endDateTime``, ``collection`` → ``$top``/``$skiptoken``/``$count``,
  ``select_fields`` → ``$select``) and its success status (``created`` 201, ``accepted`` 202,
  ``no_content`` 204, else 200);
- every operation can answer Graph's error envelope (``GraphError``) with 400, 401, 403, 404 and 429.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from citizen_portal.core.graph.protocol import PREFIX
from citizen_portal.core.scopes import SCOPES

GRAPH_PERMISSIONS = ("Calendars.Read", "Calendars.ReadWrite", "Place.Read.All", "Bookings.Read.All",
                     "Bookings.ReadWrite.All")
STATUS_OF = {"created": "201", "accepted": "202", "no_content": "204"}
QUERY_OF: dict[str, tuple[tuple[str, bool, str], ...]] = {
    "query_range": (("startDateTime", True, "Beginning of the range (ISO 8601; no offset: UTC)."),
                     ("endDateTime", True, "End of the range (ISO 8601; no offset: UTC).")),
    "collection": (("$top", False, "Page size."), ("$skiptoken", False, "From @odata.nextLink."),
                   ("$count", False, "true: @odata.count")),
    "select_fields": (("$select", False, "Comma-separated properties."),),
    "_check_orderby": (("$orderby", False, "Only start/dateTime."),),
}
DESCRIPTION = (
    "A Microsoft-Graph-compatible subset for calendars, rooms and appointment bookings: point a Graph "
    "client's base URL at this path and give it a bearer token of the platform (an API client's access token "
    "from POST /oauth/token, or a person's token). Errors are Graph's envelope {\"error\": {\"code\", "
    "\"message\", \"innerError\"}}. Extensions beyond Microsoft Graph are named municipal.*: the free slots "
    "of a Bookings service (GET .../services/{id}/municipal.freeSlots) and the Standard Webhooks key of a "
    "subscription (municipal.webhookSecret, returned once). Not supported: $filter beyond the rooms' "
    "capacity/isWheelChairAccessible, $search, $expand, $batch, monthly or yearly series and series without end, "
    "changing single occurrences, rich notifications (includeResourceData)."
)
ERROR_SCHEMA = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "innerError": {"type": "object", "additionalProperties": True}}}}}


@dataclass
class ViewFacts:
    """What a view's code says about its operation."""

    permissions: list[str | None] = field(default_factory=list)
    models: list[type[BaseModel]] = field(default_factory=list)
    calls: set[str] = field(default_factory=set)
    args: set[str] = field(default_factory=set)


def _value(node: ast.expr, module_globals: dict[str, Any]) -> Any:
    """A constant, or a name / ``module.NAME`` of the view's module (``graph.USERS_PERMISSION``)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return module_globals.get(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return getattr(module_globals.get(node.value.id), node.attr, None)
    return None


def _called_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


@functools.cache
def view_facts_of(function: Callable) -> ViewFacts:
    return view_facts(function)


def view_facts(function: Callable, facts: ViewFacts | None = None, depth: int = 0) -> ViewFacts:
    """Walk the view's source (and module functions it calls, up to two levels) for the facts above."""
    facts = facts or ViewFacts()
    function = inspect.unwrap(function)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return facts
    module_globals = getattr(function, "__globals__", {})
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _called_name(node)
        if name is None:
            continue
        facts.calls.add(name)
        if name == "authorize_graph" and node.args:
            facts.permissions.append(_value(node.args[0], module_globals))
        elif name == "parse" and node.args and isinstance(node.args[0], ast.Name):
            model = module_globals.get(node.args[0].id)
            if isinstance(model, type) and issubclass(model, BaseModel):
                facts.models.append(model)
        elif name == "get" and node.args and isinstance(node.args[0], ast.Constant) and isinstance(
                node.args[0].value, str) and node.args[0].value.startswith("$"):
            facts.args.add(node.args[0].value)
        target = module_globals.get(name) if isinstance(node.func, ast.Name) else None
        if (depth < 2 and inspect.isfunction(target) and target is not function
                and "graph" in target.__module__):
            view_facts(target, facts, depth + 1)
    return facts


def _parameters(rule_arguments: list[str], facts: ViewFacts) -> list[dict[str, Any]]:
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in rule_arguments]
    seen: set[str] = set()
    for call, options in QUERY_OF.items():
        if call in facts.calls:
            for name, required, text in options:
                if name not in seen:
                    seen.add(name)
                    parameters.append({"name": name, "in": "query", "required": required, "description": text,
                                       "schema": {"type": "string"}})
    for name in sorted(facts.args - seen):
        parameters.append({"name": name, "in": "query", "required": False, "schema": {"type": "string"}})
    return parameters


def _summary(function: Callable, method: str, path: str) -> str:
    doc = inspect.getdoc(inspect.unwrap(function)) or ""
    first = doc.split("\n\n")[0].replace("\n", " ").strip()
    return first or f"{method.upper()} {path}"


def _operation(app: Flask, endpoint: str, method: str, path: str, arguments: list[str]) -> dict[str, Any]:
    function = app.view_functions[endpoint]
    facts = view_facts_of(function)
    permission = next((p for p in facts.permissions if p is not None), None)
    status = next((STATUS_OF[c] for c in ("created", "accepted", "no_content") if c in facts.calls), "200")
    if method == "delete" and "no_content" in facts.calls:
        status = "204"
    error = {"$ref": "#/components/responses/GraphError"}
    responses: dict[str, Any] = {status: {"description": "Success"} if status in ("202", "204") else {
        "description": "Success", "content": {"application/json": {"schema": {"type": "object"}}}}}
    responses.update({code: error for code in ("400", "401", "403", "404", "429")})
    operation: dict[str, Any] = {
        "operationId": re.sub(r"[^A-Za-z0-9]+", "_", f"{method}{path.replace('()', '_fn')}").strip("_"),
        "summary": _summary(function, method, path)[:300], "tags": [path.split("/")[1]],
        "parameters": _parameters(arguments, facts), "responses": responses,
        "security": [{"bearer": []}, {"oauth2": [permission] if permission else []}],
        "x-permission": permission}
    if method in ("post", "patch", "put") and facts.models:
        operation["requestBody"] = {"required": method != "post" or "cancel" not in path, "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{facts.models[0].__name__}"}}}}
    return operation


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every Graph route of ``app`` (see the module's rules), built once."""
    if "graph_openapi" not in app.extensions:
        app.extensions["graph_openapi"] = _build(app)
    return app.extensions["graph_openapi"]


def _build(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    models: dict[str, type[BaseModel]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(PREFIX + "/") or rule.endpoint.endswith("graph_openapi"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(PREFIX):])
        arguments = [name for name in re.findall(r"{([^}]+)}", path)]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation = _operation(app, rule.endpoint, method.lower(), path, arguments)
            paths.setdefault(path, {})[method.lower()] = operation
            for model in view_facts_of(app.view_functions[rule.endpoint]).models:
                models[model.__name__] = model
    _, schemas = models_json_schema([(model, "validation") for model in models.values()], by_alias=True,
                                    ref_template="#/components/schemas/{model}")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Microsoft-Graph-compatible API (calendars, rooms, bookings)", "version": "1.0",
                 "description": DESCRIPTION},
        "servers": [{"url": PREFIX}],
        "paths": paths,
        "components": {
            "schemas": {**schemas.get("$defs", {}), "GraphError": ERROR_SCHEMA},
            "responses": {"GraphError": {"description": "Graph's error envelope", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/GraphError"}}}}},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "oauth2": {"type": "oauth2", "flows": {"clientCredentials": {
                    "tokenUrl": "/oauth/token",
                    "scopes": {name: str(SCOPES[name]) for name in GRAPH_PERMISSIONS if name in SCOPES}}}}},
        },
    }
