"""The one registry of API scopes (OAuth 2.0 scope names) and what a person's roles imply.

Rules:
- A scope is least privilege per area: ``<area>.read`` reads, ``<area>.write`` / ``.manage`` changes.
  The Microsoft Graph permission names (``Calendars.Read`` …) are scopes of the same registry, so a
  Graph client and a REST client are the same kind of API client.
- API clients (software) hold exactly the scopes they were given (``core.api_clients``).
- A person's own API token (staff scripts) and a staff session imply the scopes of the person's roles
  (``scopes_for_roles``); ``admin`` implies every scope.
"""

from __future__ import annotations

from collections.abc import Iterable

from citizen_portal.core.i18n import _l

SCOPES: dict[str, object] = {
    "appointments.read": _l("Leistungen, freie Zeiten und Termine lesen"),
    "appointments.write": _l("Termine buchen, verschieben und absagen"),
    "rooms.read": _l("Räume, ihre Belegung und eigene Raumbuchungen lesen"),
    "rooms.write": _l("Räume buchen und Raumbuchungen absagen"),
    "desks.read": _l("Arbeitsplätze und eigene Arbeitsplatzbuchungen lesen"),
    "desks.write": _l("Arbeitsplätze buchen, einchecken und Buchungen absagen"),
    "polls.read": _l("Umfragen und Ergebnisse lesen"),
    "polls.manage": _l("An Umfragen teilnehmen und Umfragen verwalten"),
    "suggestions.manage": _l("Vorschläge einreichen und verwalten"),
    "webhooks.manage": _l("Webhook-Abonnements verwalten"),
    "public-rooms.read": _l("Räume für Bürgerinnen und Bürger und ihre Belegung lesen"),
    "public-rooms.write": _l("Räume für Bürgerinnen und Bürger anfragen"),
    "room-requests.manage": _l("Raumanfragen von Bürgerinnen und Bürgern entscheiden"),
    # Microsoft Graph permission names (the /graph/v1.0 subset)
    "Calendars.Read": _l("Graph: Kalender lesen"),
    "Calendars.ReadWrite": _l("Graph: Kalender lesen und schreiben"),
    "Place.Read.All": _l("Graph: Räume und Raumlisten lesen"),
    "Bookings.Read.All": _l("Graph: Terminbuchungen lesen"),
    "Bookings.ReadWrite.All": _l("Graph: Terminbuchungen lesen und schreiben"),
}

# a write scope includes the read scope of its area (a client allowed to book may read what it booked)
IMPLIES: dict[str, tuple[str, ...]] = {
    "appointments.write": ("appointments.read",),
    "rooms.write": ("rooms.read",),
    "public-rooms.write": ("public-rooms.read",),
    "desks.write": ("desks.read",),
    "polls.manage": ("polls.read",),
    "Calendars.ReadWrite": ("Calendars.Read",),
    "Bookings.ReadWrite.All": ("Bookings.Read.All",),
}

ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "staff": ("desks.write", "rooms.write", "polls.read", "appointments.read", "Calendars.ReadWrite",
              "Place.Read.All"),
    "service_admin": ("appointments.write", "Bookings.ReadWrite.All"),
    "poll_admin": ("polls.manage", "suggestions.manage"),
    "room_admin": ("room-requests.manage", "public-rooms.read"),
    "admin": tuple(SCOPES),
}


def unknown_scopes(names: Iterable[str]) -> list[str]:
    """The names that are not scopes of the registry (in the order given)."""
    return [name for name in names if name not in SCOPES]


def expand(names: Iterable[str]) -> frozenset[str]:
    """The scopes ``names`` grant, with the read scopes their write scopes include."""
    granted = set(names)
    for name in list(granted):
        granted.update(IMPLIES.get(name, ()))
    return frozenset(name for name in granted if name in SCOPES)


def scopes_for_roles(roles: Iterable[str]) -> frozenset[str]:
    """What a person's roles imply (``admin``: every scope)."""
    return expand(scope for role in roles for scope in ROLE_SCOPES.get(role, ()))


def parse_scope_string(value: str | None) -> list[str]:
    """An OAuth ``scope`` parameter: names separated by spaces (RFC 6749 §3.3), without duplicates."""
    seen: dict[str, None] = {}
    for name in (value or "").split():
        seen.setdefault(name, None)
    return list(seen)
