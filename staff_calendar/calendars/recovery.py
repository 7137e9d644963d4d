"""Recovery after a CalDAV outage: rows that wait because their server was unreachable are retried
at once when the server is back, however long their backoff has grown.

Rules:
- a delivery that failed because the server could not be reached (connection refused or reset,
  timeout, DNS, a proxy's 502/503/504) is recorded with ``last_error`` starting ``"unreachable: "``;
- a server is identified by scheme, host and port of the calendar URL: every calendar on it comes
  back together;
- "back" is any of: a sync of one of its calendars succeeds, a delivery to it succeeds, or a probe
  (a depth-0 PROPFIND of one of its calendars, answered 207) succeeds; the worker probes a server
  with waiting rows every ``CALDAV_PROBE_INTERVAL_SECONDS`` (default 15);
- then every pending row of that server that waits after an "unreachable" failure becomes due now
  (rows that failed for another reason keep their backoff), and the caller drains them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select, update

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.extensions import db
from staff_calendar.calendars.client import connect, describe_error, server_of
from staff_calendar.calendars.models import CalendarLink, OutboxEntry

log = logging.getLogger("staff_calendar.recovery")

UNREACHABLE = "unreachable: "
PROBE_TIMEOUT_SECONDS = 5.0


def servers_of_calendars() -> dict[str, str]:
    """Calendar key → server, for every active link (one small query)."""
    rows = db.session.execute(select(CalendarLink.key, CalendarLink.url, CalendarLink.resolved_url)
                              .where(CalendarLink.active.is_(True))).all()
    return {key: server_of(resolved or url) for key, url, resolved in rows}


def calendars_on(server: str, servers: dict[str, str] | None = None) -> list[str]:
    servers = servers_of_calendars() if servers is None else servers
    return sorted(key for key, other in servers.items() if other == server)


def retry_now(calendar_keys: list[str]) -> int:
    """Make every pending row of these calendars that waits after an "unreachable" failure due now;
    returns how many. Its own short transaction."""
    if not calendar_keys:
        return 0
    now = datetime.now(UTC)
    with write_transaction(locks.calendar_outbox()):
        released = db.session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.state == "pending", OutboxEntry.calendar_key.in_(calendar_keys),
                   OutboxEntry.next_attempt_at > now, OutboxEntry.last_error.startswith(UNREACHABLE))
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    if released:
        log.info("calendar server is back: %s waiting outbox rows retried now", released)
    return released


def server_is_back(calendar_key: str) -> int:
    """A sync of or a delivery to ``calendar_key`` succeeded: retry the waiting rows of every
    calendar on the same server. Returns how many rows became due."""
    servers = servers_of_calendars()
    server = servers.get(calendar_key)
    return retry_now(calendars_on(server, servers)) if server else 0


def waiting_servers() -> dict[str, list[str]]:
    """Server → its calendars, for servers with rows that wait after an "unreachable" failure."""
    now = datetime.now(UTC)
    keys = db.session.scalars(
        select(OutboxEntry.calendar_key).distinct()
        .where(OutboxEntry.state == "pending", OutboxEntry.next_attempt_at > now,
               OutboxEntry.last_error.startswith(UNREACHABLE))
    ).all()
    if not keys:
        return {}
    servers = servers_of_calendars()
    waiting: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        if key in servers:
            waiting[servers[key]].append(key)
    return {server: calendars_on(server, servers) for server in waiting}


def probe(calendar_key: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """One depth-0 PROPFIND of the calendar: True when the server answers it (207)."""
    link = db.session.scalar(select(CalendarLink).where(CalendarLink.key == calendar_key))
    if link is None or not link.active:
        return False
    try:
        connection = connect(link, timeout)
        response = connection.client.propfind(connection.url, ["{DAV:}getetag"], depth=0)
    except Exception as exc:  # still away
        log.info("calendar %s: probe failed: %s", calendar_key, describe_error(exc))
        return False
    return response.status == 207
