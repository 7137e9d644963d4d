"""Connecting to a linked calendar: credentials, timeouts, principal discovery.

Rules: the secret comes from the environment variable named by ``secret_env`` or from a file in
``instance/`` named by ``secret_file``; it is never stored, logged or shown. Errors name the
calendar key and an error class, never the URL with credentials or the secret.
A link whose URL only names the server (path ``/`` or ``/.well-known/caldav``) is resolved
through principal discovery to the principal's first event calendar (``resolved_url``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import caldav
from flask import current_app
from sqlalchemy import select

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.extensions import db
from staff_calendar.calendars.models import CalendarLink

log = logging.getLogger("staff_calendar.client")


UNREACHABLE_STATUSES = {502, 503, 504}  # a proxy's answers while the server behind it is away


class CalendarUnavailable(Exception):
    """The calendar could not be reached or used; ``str()`` is safe to log and store.
    ``unreachable``: the server could not be reached at all (see ``is_unreachable``)."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def is_unreachable(exc: BaseException) -> bool:
    """Whether a failure means "the server could not be reached" (connection refused or reset,
    timeout, DNS, a proxy's 502/503/504), not "it refused this request"."""
    if isinstance(exc, OSError):  # niquests' ConnectionError and Timeout are OSErrors too
        return True
    if getattr(exc, "unreachable", False):
        return True
    status = getattr(exc, "status", None) or getattr(getattr(exc, "response", None), "status", None)
    return status in UNREACHABLE_STATUSES


def server_of(url: str) -> str:
    """``scheme://host:port`` of a calendar URL (no credentials, no path): calendars on one server
    come back together after an outage."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}"


@dataclass
class Connection:
    client: caldav.DAVClient
    calendar: caldav.Calendar
    url: str
    discovered: bool = False  # ``url`` was found by principal discovery: store it as ``resolved_url``


def read_secret(link: CalendarLink) -> str | None:
    if link.secret_env:
        value = os.environ.get(link.secret_env)
        if value is None:
            raise CalendarUnavailable(f"secret variable {link.secret_env} is not set")
        return value
    if link.secret_file:
        instance = Path(current_app.instance_path).resolve()
        path = (instance / link.secret_file).resolve()
        if instance not in path.parents:
            raise CalendarUnavailable("secret file must lie inside instance/")
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise CalendarUnavailable(f"secret file unreadable ({type(exc).__name__})") from None
    return None


def needs_discovery(url: str) -> bool:
    path = urlsplit(url).path
    return path in {"", "/"} or path.rstrip("/").endswith("/.well-known/caldav")


def href_of(url: object) -> str:
    """The normalised path of an object URL: the key of ``calendar_objects.href``."""
    return unquote(urlsplit(str(url)).path)


def make_client(link: CalendarLink, timeout: float | None = None) -> caldav.DAVClient:
    timeout = current_app.config["CALDAV_TIMEOUT_SECONDS"] if timeout is None else timeout
    secret = read_secret(link)
    kwargs: dict = {"url": link.resolved_url or link.url, "timeout": timeout}
    if link.username:
        kwargs.update(username=link.username, password=secret or "", auth_type="basic")
    return caldav.DAVClient(**kwargs)


def discover_calendar_url(client: caldav.DAVClient) -> str:
    principal = client.principal()
    calendars = principal.get_calendars()
    for calendar in calendars:
        try:
            components = calendar.get_supported_components()
        except Exception:  # property missing on some servers
            components = ["VEVENT"]
        if "VEVENT" in components:
            return str(calendar.url)
    raise CalendarUnavailable("principal discovery found no event calendar")


def connect(link: CalendarLink, timeout: float | None = None) -> Connection:
    """A client and calendar handle for ``link`` (no request unless discovery is needed).

    ``link`` is not changed: a discovered URL comes back with ``discovered=True`` and the caller
    stores it in its own write transaction (``remember_resolved_url``)."""
    client = make_client(link, timeout)
    url = link.resolved_url or link.url
    discovered = False
    if not link.resolved_url and needs_discovery(link.url):
        try:
            url = discover_calendar_url(client)
        except CalendarUnavailable:
            raise
        except Exception as exc:
            raise CalendarUnavailable(describe_error(exc), unreachable=is_unreachable(exc)) from None
        discovered = True
        log.info("calendar %s resolved through principal discovery", link.key)
    if not url.endswith("/"):
        url += "/"
    return Connection(client=client, calendar=client.calendar(url=url), url=url, discovered=discovered)


def remember_resolved_url(calendar_key: str, url: str) -> None:
    """Store a discovered calendar URL (in its own transaction; call outside any other)."""
    with write_transaction(locks.calendar_mirror(calendar_key)):
        link = db.session.scalar(select(CalendarLink).where(CalendarLink.key == calendar_key))
        if link is not None and link.resolved_url != url:
            link.resolved_url = url


def describe_error(exc: BaseException) -> str:
    """A short description without URLs or credentials, fit for logs and ``last_error``."""
    name = type(exc).__name__
    if isinstance(exc, CalendarUnavailable):  # our own messages are safe by construction
        return f"{name}: {exc}"[:480]
    status = getattr(exc, "status", None) or getattr(getattr(exc, "response", None), "status", None)
    reason = getattr(exc, "reason", None)
    parts = [name]
    if status:
        parts.append(f"HTTP {status}")
    if reason and isinstance(reason, str) and "://" not in reason:
        parts.append(reason[:120])
    return " ".join(parts)[:480]
