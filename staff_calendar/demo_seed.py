"""Demo calendars for ``make run``: create each calendar (MKCALENDAR) and put a few busy events in it.

Rules: idempotent. Calendars that exist are kept; events have deterministic UIDs and are written
with ``If-None-Match: *`` (``no_overwrite``), so an event that exists is left alone. Events are
placed relative to today (working days only), so the demo always has busy time ahead; each
calendar gets one weekly recurring event. Times are local to the site zone (Europe/Berlin).

Usage: ``python -m staff_calendar.demo_seed --username portal --password-env CALDAV_PASSWORD URL...``
where each URL is a calendar collection (``http://127.0.0.1:5232/mmueller/termine/``).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import caldav
import icalendar
from caldav.lib import error as caldav_error

UID_DOMAIN = "demo.musterhausen.example"
PRODID = "-//Stadt Musterhausen//Demo//DE"


@dataclass(frozen=True)
class DemoEvent:
    uid: str
    summary: str
    start: datetime
    end: datetime
    weekly: bool = False


def working_days(start: date, count: int) -> list[date]:
    """The next ``count`` weekdays (Mon–Fri) from ``start`` on, ``start`` included."""
    days: list[date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def demo_events(calendar_name: str, index: int, today: date, zone: ZoneInfo) -> list[DemoEvent]:
    """A weekly meeting (starting on today's weekday, or Monday at the weekend) and three single
    events on the next working days, staggered by ``index`` so calendars differ."""
    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=zone)

    first = working_days(today, 1)[0]
    events = [DemoEvent(f"demo-{calendar_name}-weekly@{UID_DOMAIN}", "Teambesprechung",
                        at(first, 9 + index % 3), at(first, 10 + index % 3), weekly=True)]
    summaries = ("Schulung", "Außentermin", "Fortbildung")
    for number, day in enumerate(working_days(today + timedelta(days=1), 3)):
        hour = 10 + (index + number) % 5
        events.append(DemoEvent(f"demo-{calendar_name}-{day.isoformat()}-{number}@{UID_DOMAIN}",
                                summaries[number], at(day, hour), at(day, hour, 45) + timedelta(hours=1)))
    return events


def to_ical(event: DemoEvent) -> str:
    component = icalendar.Event()
    component.add("uid", event.uid)
    component.add("summary", event.summary)
    component.add("dtstart", event.start)
    component.add("dtend", event.end)
    component.add("dtstamp", datetime.now(ZoneInfo("UTC")))
    if event.weekly:
        component.add("rrule", {"freq": "weekly", "count": 52})
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add_component(component)
    calendar.add_missing_timezones()
    return calendar.to_ical().decode()


def calendar_name(url: str) -> str:
    """``/mmueller/termine/`` -> ``mmueller``; ``/rooms/sitzungssaal/`` -> ``sitzungssaal``."""
    parts = [part for part in urlsplit(url).path.split("/") if part]
    if len(parts) >= 2 and parts[0] == "rooms":
        return parts[1]
    return parts[0] if parts else "calendar"


def ensure_calendar(client: caldav.DAVClient, url: str, display_name: str) -> caldav.Calendar:
    """The calendar at ``url``, created with MKCALENDAR when it does not exist yet."""
    calendar = caldav.Calendar(client=client, url=url)
    try:
        calendar.get_display_name()
        return calendar
    except caldav_error.NotFoundError:
        pass
    parent_url = url.rstrip("/").rsplit("/", 1)[0] + "/"
    if client.propfind(parent_url, depth=0).status == 404:
        client.mkcol(parent_url, "")  # the owner's principal collection, e.g. /mmueller/ or /rooms/
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
        f"<D:displayname>{display_name}</D:displayname>"
        "<C:supported-calendar-component-set><C:comp name=\"VEVENT\"/></C:supported-calendar-component-set>"
        "</D:prop></D:set></C:mkcalendar>"
    )
    response = client.mkcalendar(url, body)
    if response.status not in (200, 201):
        raise caldav_error.MkcalendarError(f"MKCALENDAR {url}: {response.status}")
    return calendar


def seed(urls: list[str], username: str, password: str, today: date | None = None,
         zone: str = "Europe/Berlin") -> dict[str, int]:
    """Create the calendars and their events; return how many events each calendar received now."""
    today = today or datetime.now(ZoneInfo(zone)).date()
    created: dict[str, int] = {}
    with caldav.DAVClient(url=urls[0], username=username, password=password, timeout=15) as client:
        for index, url in enumerate(urls):
            name = calendar_name(url)
            calendar = ensure_calendar(client, url, f"Demo {name}")
            created[url] = 0
            for event in demo_events(name, index, today, ZoneInfo(zone)):
                try:
                    calendar.add_event(to_ical(event), no_overwrite=True)
                    created[url] += 1
                except (caldav_error.PutError, caldav_error.ConsistencyError):
                    pass  # exists already (412): leave it as it is
    return created


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Create demo CalDAV calendars with busy events.")
    parser.add_argument("urls", nargs="+", help="calendar collection URLs")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password-env", required=True, help="environment variable holding the password")
    args = parser.parse_args(argv)
    password = os.environ.get(args.password_env)
    if not password:
        print(f"{args.password_env} is not set", file=sys.stderr)
        return 2
    created = seed(args.urls, args.username, password)
    total = sum(created.values())
    print(f"{len(created)} calendars ready, {total} new demo events")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
