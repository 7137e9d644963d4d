"""Graph responses: collection pages (``$select``, ``$top``/``Prefer: odata.maxpagesize``, ``$skiptoken``,
``$count``, an absolute ``@odata.nextLink``), unsupported query options refused, 201/202/204."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from flask import current_app, jsonify, request

from citizen_portal.core.errors import Invalid
from citizen_portal.core.graph.bodies import as_int, decode_id, encode_id
from citizen_portal.core.graph.protocol import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PREFIX, preferred_page_size
from citizen_portal.core.i18n import _l


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
