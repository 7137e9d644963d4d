"""The Graph request: the ``/graph/v1.0`` prefix, paging limits, the ``dateTime`` format, the ``Prefer``
header's parts (``odata.maxpagesize``) and the ``request-id`` of this request."""

from __future__ import annotations

import uuid

from flask import g, request

PREFIX = "/graph/v1.0"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.0000000"

# Graph permission names are scopes of the platform's one registry (``core.scopes``): API clients hold
# the ones they were given, a person's token the ones her roles imply. Reading users needs Calendars.Read.
USERS_PERMISSION = "Calendars.Read"


def is_graph_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def request_id() -> str:
    if "graph_request_id" not in g:
        g.graph_request_id = str(uuid.uuid4())
    return g.graph_request_id


def preferred_page_size() -> int | None:
    for part in prefer_parts():
        key, _, value = part.partition("=")
        if key.strip().lower() == "odata.maxpagesize" and value.strip().isdigit():
            return max(1, min(int(value.strip()), MAX_PAGE_SIZE))
    return None


def prefer_parts() -> list[str]:
    return [part for header in request.headers.getlist("Prefer") for part in header.split(",") if part.strip()]
