"""The main navigation, built from entries each package registers (base module).

A package adds its entries when its blueprint is registered, so the layout never imports
domain code::

    from citizen_portal.core.i18n import _l
    from citizen_portal.core.navigation import register_nav_item

    bp = Blueprint("polls", __name__)
    bp.record_once(lambda state: register_nav_item(
        state.app, "polls", _l("Beteiligung"), "/beteiligung", order=30))
    # staff-only entry: roles=("staff",)  (admin sees every entry)

``path`` is a URL path (or a callable returning one, e.g. ``lambda: url_for("polls.index")``).
``roles=None`` shows the entry to everybody; a tuple shows it to logged-in users holding one of them.

Landing pages: ``register_landing(app, role, path, order=…)``; after a login without an explicit
target, ``landing_for(user)`` sends the user to the page of the role she holds with the lowest order
(exact role match: an administrator lands on the administrators' page, not on everybody's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, request
from flask_login import current_user

from citizen_portal.core.access import has_role


@dataclass(frozen=True)
class NavItem:
    key: str
    label: Any  # lazy string
    path: str | Callable[[], str]
    roles: tuple[str, ...] | None = None
    order: int = 100


@dataclass(frozen=True)
class NavLink:
    key: str
    label: str
    url: str
    current: bool


def register_nav_item(app: Flask, key: str, label: Any, path: str | Callable[[], str], *,
                      roles: tuple[str, ...] | list[str] | None = None, order: int = 100) -> None:
    """Add (or replace, by ``key``) an entry of the main navigation."""
    items: dict[str, NavItem] = app.extensions.setdefault("navigation", {})
    items[key] = NavItem(key, label, path, tuple(roles) if roles is not None else None, order)


def registered_nav_items(app: Flask) -> list[NavItem]:
    return sorted(app.extensions.get("navigation", {}).values(), key=lambda item: (item.order, item.key))


def _visible(item: NavItem) -> bool:
    if item.roles is None:
        return True
    if not getattr(current_user, "is_authenticated", False):
        return False
    return any(has_role(current_user, role) for role in item.roles)


def main_navigation() -> list[NavLink]:
    """The entries the current user may see, with ``current`` set on the one of this page."""
    entries = []
    for item in registered_nav_items(current_app):
        if not _visible(item):
            continue
        url = item.path() if callable(item.path) else item.path
        matches = request.path == url or (url != "/" and request.path.startswith(url.rstrip("/") + "/"))
        entries.append((item, url, matches))
    # one current entry: the most specific (``/arbeitsplaetze/verwaltung`` over ``/arbeitsplaetze/``)
    current_url = max((url for _item, url, matches in entries if matches), key=len, default=None)
    return [NavLink(item.key, str(item.label), url, url == current_url) for item, url, _matches in entries]


def register_landing(app: Flask, role: str, path: str | Callable[[], str], *, order: int = 100) -> None:
    """The page a user holding ``role`` lands on after logging in (lowest ``order`` wins)."""
    landings: dict[str, tuple[int, str | Callable[[], str]]] = app.extensions.setdefault("landings", {})
    landings[role] = (order, path)


def landing_for(user: Any) -> str | None:
    """The landing page of the user's first role by ``order`` (exact match), or None."""
    roles = set(getattr(user, "role_list", ()) or ())
    landings = current_app.extensions.get("landings", {})
    for role, (_order, path) in sorted(landings.items(), key=lambda entry: (entry[1][0], entry[0])):
        if role in roles:
            return path() if callable(path) else path
    return None
