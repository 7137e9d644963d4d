"""Graph users: the staff members and rooms the packages offer as mailboxes (``register_mailboxes``),
filtered by what the caller may see; lookup by id or e-mail address and ``/me``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from citizen_portal.core.errors import NotFound
from citizen_portal.core.graph.access import GraphCaller, current_caller
from citizen_portal.core.i18n import _l


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
