"""Graph access: ``authorize_graph(permission)``, the one place that decides who may call what, and the
``GraphCaller`` it keeps for the request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import g

from citizen_portal.core.access import Unauthorized, bearer_token, current_principal
from citizen_portal.core.api_clients import Principal
from citizen_portal.core.errors import Forbidden
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from citizen_portal.core.models import User

if TYPE_CHECKING:
    from citizen_portal.core.graph.mailboxes import Mailbox


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


def authorize_graph(permission: str | None) -> GraphCaller:
    """The one access check of the Graph API: a bearer token (an API client's access token from
    ``POST /oauth/token``, or a person's token from ``flask users token create``) holding the Graph
    permission as a scope (``core.scopes``). No token or a bad one → 401 ``InvalidAuthenticationToken``
    (cookies are not accepted here: the blueprints are exempt from CSRF); the scope missing → 403
    ``ErrorAccessDenied``; ``None``: any valid token (the operation checks more itself). The caller is
    kept for this request (``current_caller``)."""
    if bearer_token() is None:
        raise Unauthorized(_l("Das Zugriffstoken fehlt."))
    principal = current_principal()
    if principal is None:
        raise Unauthorized(_l("Das Zugriffstoken ist ungültig oder widerrufen."))
    if permission is not None and not principal.has(permission):
        raise Forbidden(_l("Diesem Zugriffstoken fehlt die Berechtigung %(permission)s.", permission=permission))
    user = db.session.get(User, principal.user_id) if principal.kind == "user" else None
    g.graph_caller = GraphCaller(principal, user)
    return g.graph_caller


def current_caller() -> GraphCaller | None:
    return g.get("graph_caller")
