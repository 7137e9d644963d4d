"""Microsoft-Graph conventions for ``/graph/v1.0`` (the Graph-compatible subset of the platform).

Each package serves its own Graph resources from a blueprint made by ``graph_blueprint`` (thin
adapters over its services); this package holds what they share, once. Callers use the names below as
``graph.X`` (``from citizen_portal.core import graph``); what is where:

- ``protocol``: ``PREFIX``, page sizes, ``DATETIME_FORMAT``, ``USERS_PERMISSION``, the ``Prefer`` header's
  parts (``odata.maxpagesize``), the ``request-id`` of a request;
- ``errors``: every failure under ``/graph/`` is ``{"error": {"code", "message", "innerError": {"date",
  "request-id", "client-request-id"}}}`` with ``Content-Type: application/json``: ``NotFound`` →
  404 ``ErrorItemNotFound``, ``Invalid`` → 400 ``ErrorInvalidRequest``, ``Forbidden`` → 403
  ``ErrorAccessDenied``, ``Conflict`` → 409 ``ErrorConflict`` (the platform's code in ``innerError``),
  ``PreconditionFailed`` → 412 ``ErrorIrresolvableConflict``, 401 ``InvalidAuthenticationToken``,
  429 ``TooManyRequests`` with an integer ``Retry-After``;
- ``blueprint``: ``graph_blueprint`` and ``init_app``: ``//`` in the path collapsed (the SDK sends it
  after a base URL with a trailing slash), JSON content type, ``request-id`` and ``Preference-Applied``
  headers;
- ``access``: ``authorize_graph(permission)``, the one place that decides who may call what (``GraphCaller``);
- ``mailboxes``: the staff members and rooms a package offers as Graph users (``register_mailboxes``);
- ``times``: ``Prefer: outlook.timezone`` with Windows or IANA names (echoed in ``Preference-Applied``),
  ``dateTimeTimeZone`` values read in their zone (a missing offset or zone is UTC), ``dateTime`` written
  as ``YYYY-MM-DDTHH:MM:SS.0000000``;
- ``bodies``: ids without ``/`` and request bodies;
- ``subscriptions``: change-notification subscriptions (``register_subscription_resource``: what each
  package offers; create / renew / delete with the validation handshake, the lifecycle job); the
  packages queue notifications with ``core.webhooks.graph.notify_graph_change``;
- ``responses``: collections with ``$select``, ``$top`` (and the ``$skiptoken`` of an absolute
  ``@odata.nextLink``), unsupported query options refused, 201/202/204.
"""

from citizen_portal.core.graph.access import GraphCaller, authorize_graph, current_caller
from citizen_portal.core.graph.blueprint import GraphWsgi, graph_blueprint, init_app
from citizen_portal.core.graph.bodies import as_int, decode_id, encode_id, json_body, lower_keys
from citizen_portal.core.graph.errors import (
    GRAPH_CODES,
    PreconditionFailed,
    error_response,
    render_domain_error,
    render_http_error,
)
from citizen_portal.core.graph.mailboxes import Mailbox, find_mailbox, mailboxes, own_mailbox, register_mailboxes
from citizen_portal.core.graph.protocol import (
    DATETIME_FORMAT,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    PREFIX,
    USERS_PERMISSION,
    is_graph_request,
    preferred_page_size,
    request_id,
)
from citizen_portal.core.graph.responses import (
    UNSUPPORTED_OPTIONS,
    absolute_link,
    accepted,
    collection,
    created,
    no_content,
    reject_unsupported_options,
    select_fields,
    selected,
)
from citizen_portal.core.graph.subscriptions import (
    MAX_LIFETIME_MINUTES,
    SubscriptionResource,
    SubscriptionTarget,
    register_subscription_resource,
)
from citizen_portal.core.graph.times import (
    WEEKDAY_NAMES,
    WINDOWS_ZONES,
    format_moment,
    format_utc,
    parse_moment,
    preferred_timezone,
    query_moment,
    query_range,
    time_of_day,
    zone_named,
)

__all__ = [
    "DATETIME_FORMAT", "DEFAULT_PAGE_SIZE", "GRAPH_CODES", "MAX_LIFETIME_MINUTES", "MAX_PAGE_SIZE", "PREFIX",
    "UNSUPPORTED_OPTIONS", "USERS_PERMISSION", "WEEKDAY_NAMES", "WINDOWS_ZONES", "GraphCaller", "GraphWsgi",
    "Mailbox", "PreconditionFailed", "SubscriptionResource", "SubscriptionTarget", "absolute_link", "accepted",
    "as_int", "authorize_graph", "collection", "created", "current_caller", "decode_id", "encode_id",
    "error_response", "find_mailbox", "format_moment", "format_utc", "graph_blueprint", "init_app",
    "is_graph_request", "json_body", "lower_keys", "mailboxes", "no_content", "own_mailbox", "parse_moment",
    "preferred_page_size", "preferred_timezone", "query_moment", "query_range", "register_mailboxes",
    "register_subscription_resource", "reject_unsupported_options", "render_domain_error", "render_http_error",
    "request_id", "select_fields", "selected", "time_of_day", "zone_named",
]
