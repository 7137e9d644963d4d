"""The OpenAPI 3.1 document of ``/api/v1``, generated from the operation registry (``core.api``) and
the pydantic models the operations name, and its human-readable reference page.

- ``GET /api/v1/openapi.json``: the document in the request's language (``?lang=de|en`` wins over
  ``Accept-Language``): summaries, descriptions and field messages are translated.
- ``GET /api/v1/docs``: the reference page. Without JavaScript it lists every operation (rendered
  here from the same document); with JavaScript the self-hosted Swagger UI (``static/vendor``)
  renders the document. No request leaves the site.

Rules of the document (``build_document``): every operation's parameters (path variables from the
Flask rule, query fields from its ``query`` model), request body, every response status with its
schema: the declared ones plus those every operation of its kind can answer (``implied_responses``:
400 for input, 401/403 for access, 404 for path variables, 413 for bodies, 429 for rate limits), errors
as ``application/problem+json``; security: bearer tokens and OAuth 2.0 client credentials with the
scopes of ``core.api.SCOPES``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template, request
from flask_babel import force_locale
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from citizen_portal.core import api_http
from citizen_portal.core.api import (
    API_PREFIX,
    CLIENT,
    MANAGE_TOKEN,
    MAX_PATH_ID,
    SCOPES,
    USER,
    Operation,
    Problem,
    operations,
)
from citizen_portal.core.errors import PROBLEM_MEDIA_TYPE
from citizen_portal.core.i18n import _l, current_language, supported_locales

bp = Blueprint("openapi", __name__, url_prefix=API_PREFIX)

VERSION = "1.0.0"
REF = "#/components/schemas/{model}"
TOKEN_URL = "/oauth/token"
TAGS: dict[str, Any] = {
    "appointments": _l("Termine der Bürgerinnen und Bürger: Leistungen, freie Zeiten, Buchen, Verschieben, "
                       "Absagen"),
    "captcha": _l("Captcha für Schreibzugriffe ohne Anmeldung"),
    "desks": _l("Arbeitsplätze der Beschäftigten"),
    "rooms": _l("Räume der Beschäftigten"),
    "polls": _l("Umfragen und Stimmabgabe"),
    "suggestions": _l("Vorschläge der Bürgerinnen und Bürger"),
}
DESCRIPTION = _l(
    "Die offene Schnittstelle der kommunalen Dienste. Alle Zeiten nach RFC 3339; Texte in der Sprache von "
    "Accept-Language (de, en).\n\n"
    "**Fehler** sind Problem Details nach RFC 9457 (application/problem+json) mit den Erweiterungen error "
    "(stabiler Code) und fields (Meldung je Feld).\n\n"
    "**Anmeldung**: Beschäftigte mit einem persönlichen API-Token (Bearer), Fachanwendungen mit einem Token aus "
    "OAuth 2.0 Client Credentials; jede Operation nennt ihren Scope. Termine von Bürgerinnen und Bürgern mit dem "
    "Verwaltungsschlüssel der Buchung (Bearer).\n\n"
    "**Listen** sind seitenweise: limit (höchstens 1000, Standard 1000) und ein undurchsichtiger cursor aus dem "
    "Link-Header der vorigen Seite (rel=\"next\"); die letzte Seite hat keinen.\n\n"
    "**Bedingte Anfragen**: GET-Antworten tragen ein ETag; If-None-Match mit ihm ergibt 304. PATCH und DELETE "
    "mit If-Match werden nur ausgeführt, solange der Eintrag dieses ETag hat, sonst 412.\n\n"
    "**Wiederholbare POSTs**: mit Idempotency-Key (pro Anmeldung) liefert dieselbe Anfrage binnen 24 Stunden die "
    "erste Antwort noch einmal, statt sie erneut auszuführen; derselbe Schlüssel mit anderem Inhalt ergibt 422.\n\n"
    "**Ratenbegrenzung**: begrenzte Operationen antworten mit RateLimit-Policy- und RateLimit-Kopfzeilen, bei "
    "Überschreitung mit 429 und Retry-After in Sekunden.\n\n"
    "**Versionen**: Diese Version ist /api/v1. Wird eine Operation abgelöst, kündigen die Kopfzeilen Deprecation "
    "(RFC 9745) und Sunset (RFC 8594) das an, mindestens sechs Monate vor der Abschaltung; die Änderung steht "
    "auch in diesem Dokument."
)
STATUS_TEXTS: dict[int, Any] = {
    200: _l("Erfolg"),
    304: _l("Unverändert seit dem angegebenen ETag"),
    412: _l("Der Eintrag wurde seit dem angegebenen ETag geändert"),
    422: _l("Idempotency-Key schon für eine andere Anfrage verwendet"),
    201: _l("Angelegt"),
    202: _l("Angenommen"),
    204: _l("Erledigt, ohne Inhalt"),
    400: _l("Ungültige Eingabe; fields nennt die Felder"),
    401: _l("Anmeldung fehlt oder ist ungültig"),
    403: _l("Keine Berechtigung"),
    404: _l("Nicht gefunden"),
    409: _l("Konflikt mit dem aktuellen Stand"),
    413: _l("Anfrage zu groß"),
    429: _l("Zu viele Anfragen; Retry-After nennt die Wartezeit in Sekunden"),
}


def implied_responses(declared: Operation) -> dict[int, type[BaseModel]]:
    """The error statuses every operation of its kind can answer, besides the declared ones."""
    implied: dict[int, type[BaseModel]] = {}
    has_path = any(True for _ in declared.path_parameters())
    if declared.query is not None or declared.body is not None or has_path or declared.paginated:
        implied[400] = Problem
    # any operation refuses a bad bearer token (401) and an API client's token without its scope (403)
    implied[401] = Problem
    implied[403] = Problem
    if has_path:
        implied[404] = Problem
    if declared.body is not None:
        implied[413] = Problem
    if declared.rate_limited:
        implied[429] = Problem
    return implied


def _responses(declared: Operation, has_get: bool = False) -> dict[int, type[BaseModel] | None]:
    conditional: dict[int, type[BaseModel] | None] = {}
    if declared.method == "GET":
        conditional[304] = None
    if declared.method in ("PATCH", "DELETE") and has_get:
        conditional[412] = Problem
    if declared.method == "POST":
        conditional[422] = Problem
    return {**implied_responses(declared), **conditional, **declared.responses}


def _schemas(declared_operations: list[Operation]) -> tuple[dict, dict[str, Any]]:
    """One JSON schema per model (bodies as validated, answers as serialised), as components."""
    wanted: set[tuple[type[BaseModel], str]] = {(Problem, "serialization")}
    for declared in declared_operations:
        if declared.body is not None:
            wanted.add((declared.body, "validation"))
        for model in _responses(declared, has_get=True).values():
            if model is not None:
                wanted.add((model, "serialization"))
    ordered = sorted(wanted, key=lambda item: (item[0].__name__, item[1]))
    refs, definitions = models_json_schema(ordered, by_alias=True, ref_template=REF)  # type: ignore[arg-type]
    return refs, definitions.get("$defs", {})


def _path_parameter(name: str, converter: str) -> dict[str, Any]:
    schema: dict[str, Any] = ({"type": "integer", "minimum": 1, "maximum": MAX_PATH_ID} if converter == "int"
                              else {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^/]+$"})
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query_parameters(model: type[BaseModel], components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True, ref_template=REF)
    components.update(schema.get("$defs", {}))
    required = set(schema.get("required", ()))
    parameters = []
    for name, field_schema in schema.get("properties", {}).items():
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                     "schema": _without_null(field_schema)}
        if "description" in field_schema:
            parameter["description"] = field_schema["description"]
        if field_schema.get("type") == "array":
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    return parameters


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query value is text or absent, never JSON null: ``anyOf: [X, null]`` becomes ``X``."""
    schema = {key: value for key, value in schema.items() if key not in ("title", "default")}
    options = [option for option in schema.pop("anyOf", []) if option.get("type") != "null"]
    if len(options) == 1:
        schema = {**options[0], **schema}
    elif options:
        schema["anyOf"] = options
    return schema


def _security(declared: Operation) -> list[dict[str, list[str]]]:
    if declared.access == USER:
        return [{"bearerToken": []}, {"clientCredentials": [declared.scope]}]
    if declared.access == MANAGE_TOKEN:
        return [{"manageToken": []}]
    if declared.access == CLIENT:
        return [{"clientCredentials": [declared.scope]}]
    return [{}, {"clientCredentials": [declared.scope]}]


PAGING_PARAMETERS = [
    {"name": "cursor", "in": "query", "required": False, "description": "Opaque cursor from a Link rel=next header",
     "schema": {"type": "string", "maxLength": 100}},
    {"name": "limit", "in": "query", "required": False, "description": "Items per page",
     "schema": {"type": "integer", "minimum": 1, "maximum": api_http.MAX_LIMIT, "default": api_http.DEFAULT_LIMIT}},
]
LINK_HEADER = {"description": 'RFC 8288 link to the next page (rel="next"); absent on the last page',
               "schema": {"type": "string"}}
ETAG_HEADER = {"description": "Entity tag of the answer (If-None-Match, If-Match)", "schema": {"type": "string"}}


def _operation_object(declared: Operation, refs: dict, components: dict[str, Any], *,
                      has_get: bool) -> dict[str, Any]:
    parameters = [_path_parameter(name, converter) for name, converter in declared.path_parameters()]
    if declared.query is not None:
        parameters += _query_parameters(declared.query, components)
    if declared.paginated:
        parameters += PAGING_PARAMETERS
    if declared.method == "GET":
        parameters.append({"name": "If-None-Match", "in": "header", "required": False,
                           "description": "ETag of a cached answer: 304 while it is current",
                           "schema": {"type": "string", "maxLength": 200}})
    if declared.method == "POST":
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "description": "Same key and body within 24 h: the first answer again; "
                                          "same key, other body: 422",
                           "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"}})
    if declared.method in ("PATCH", "DELETE") and has_get:
        parameters.append({"name": "If-Match", "in": "header", "required": False,
                           "description": "ETag of the GET answer: 412 when the resource changed since",
                           "schema": {"type": "string", "maxLength": 200}})
    answer: dict[str, Any] = {
        "operationId": declared.operation_id,
        "summary": str(declared.summary),
        "tags": list(declared.tags),
        "security": _security(declared),
        "x-scope": declared.scope,
    }
    if declared.description is not None:
        answer["description"] = str(declared.description)
    if parameters:
        answer["parameters"] = parameters
    if declared.body is not None:
        optional = not any(info.is_required() for info in declared.body.model_fields.values())
        answer["requestBody"] = {"required": not optional, "content": {
            "application/json": {"schema": refs[(declared.body, "validation")]}}}
    responses: dict[str, Any] = {}
    for status, model in sorted(_responses(declared, has_get).items()):
        entry: dict[str, Any] = {"description": str(STATUS_TEXTS.get(status, status))}
        if status == 200 and declared.method == "GET":
            entry["headers"] = {"ETag": ETAG_HEADER, **({"Link": LINK_HEADER} if declared.paginated else {})}
        if model is not None:
            media = PROBLEM_MEDIA_TYPE if status >= 400 and issubclass(model, Problem) else "application/json"
            entry["content"] = {media: {"schema": refs[(model, "serialization")]}}
        if status == 429:
            entry["headers"] = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
        responses[str(status)] = entry
    answer["responses"] = responses
    return answer


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every registered operation, in the current language."""
    registered = operations(app)
    refs, components = _schemas([declared for _, declared in registered])
    paths: dict[str, dict[str, Any]] = {}
    seen_ids: set[str] = set()
    readable = {declared.openapi_path for _, declared in registered if declared.method == "GET"}
    for _rule, declared in registered:
        if declared.operation_id in seen_ids:
            raise ValueError(f"duplicate operationId {declared.operation_id}")
        seen_ids.add(declared.operation_id)
        paths.setdefault(declared.openapi_path, {})[declared.method.lower()] = _operation_object(
            declared, refs, components, has_get=declared.openapi_path in readable)
    used_tags = sorted({tag for _, declared in registered for tag in declared.tags})
    return {
        "openapi": "3.1.0",
        "info": {"title": str(_l("Kommunale Dienste: API")), "version": VERSION, "description": str(DESCRIPTION),
                 "license": {"name": "EUPL-1.2", "identifier": "EUPL-1.2"}},
        "tags": [{"name": tag, "description": str(TAGS.get(tag, tag))} for tag in used_tags],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerToken": {"type": "http", "scheme": "bearer",
                                "description": str(_l("Persönliches API-Token einer oder eines Beschäftigten "
                                                      "oder ein Zugriffstoken aus /oauth/token"))},
                "clientCredentials": {"type": "oauth2", "flows": {"clientCredentials": {
                    "tokenUrl": TOKEN_URL, "scopes": {scope: str(text) for scope, text in SCOPES.items()}}}},
                "manageToken": {"type": "http", "scheme": "bearer",
                                "description": str(_l("Verwaltungsschlüssel eines Termins (manage_token)"))},
            },
        },
    }


def cached_document(language: str) -> dict[str, Any]:
    """The document per language, built once per process (the registry does not change at run time)."""
    cache = current_app.extensions.setdefault("openapi_documents", {})
    if language not in cache:
        with force_locale(language):
            cache[language] = build_document(current_app)
    return cache[language]


def _language() -> str:
    chosen = request.args.get("lang", "")
    return chosen if chosen in supported_locales() else current_language()


@bp.get("/openapi.json")
def openapi_json():
    language = _language()
    response = jsonify(cached_document(language))
    response.headers["Content-Language"] = language
    response.headers["Vary"] = "Accept-Language"
    return response


@bp.get("/docs")
def docs():
    language = _language()
    return render_template("api/docs.html", document=cached_document(language), language=language)
