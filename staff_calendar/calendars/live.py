"""Live check: busy time of one calendar for one range, straight from the server (short timeout).

Rule: the server is asked for the objects overlapping the range, padded by a day on each side
(servers evaluate all-day and floating events in UTC); the objects are then read with exactly the
mirror's rules and caps (``reading.read_object``), so both sources agree. caldav's own client-side
filter is off (``post_filter=False``): it would expand every series without a cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import site_timezone
from citizen_portal.core.intervals import merge_intervals
from staff_calendar.calendars import reading
from staff_calendar.calendars.client import CalendarUnavailable, connect
from staff_calendar.calendars.models import CalendarLink


def server_busy(calendar_key: str, start: datetime, end: datetime, *,
                timeout: float) -> list[tuple[datetime, datetime]]:
    """Busy intervals overlapping [start, end) according to the server; raises on any failure."""
    link = db.session.scalar(select(CalendarLink).where(CalendarLink.key == calendar_key))
    if link is None or not link.active:
        raise CalendarUnavailable("no active calendar link")
    connection = connect(link, timeout)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    pad = timedelta(days=1)
    objects = connection.calendar.search(start=start - pad, end=end + pad, event=True, expand=False,
                                         post_filter=False)
    tz, domain, limits = site_timezone(), current_app.config["EVENT_UID_DOMAIN"], reading.Limits.from_config()
    intervals: list[tuple[datetime, datetime]] = []
    for obj in objects:
        data = obj.data
        if isinstance(data, bytes):
            data = data.decode()
        intervals.extend(reading.read_object(data, start, end, tz=tz, own_domain=domain, limits=limits).intervals)
    return merge_intervals(intervals)
