"""Shared set-up of the Graph tests: a staff member with a token and a calendar, Graph headers."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from citizen_portal.core.api_tokens import create_api_token
from tests.citizen_portal.booking.factories import make_setup
from tests.factories import make_user, not_a_holiday

BER = ZoneInfo("Europe/Berlin")
TZ_PREFER = 'outlook.timezone="W. Europe Standard Time"'


def future_day(days: int = 10) -> datetime:
    """A working day ``days`` ahead (no holiday, Monday to Friday), at local midnight."""
    day = datetime.now(BER).date() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    day = not_a_holiday(day)
    while day.weekday() >= 5:
        day = not_a_holiday(day + timedelta(days=1))
    return datetime.combine(day, time(0), tzinfo=BER)


def staff_with_token(calendar_key: str | None = None, *, roles: str = "staff,service_admin"):
    """A location, a service and one staff member whose key is a staff account's username (with a token)."""
    location, service, (staff,) = make_setup(1)
    user = make_user(staff.key, roles=roles)
    if calendar_key:
        staff.calendar_key = calendar_key
    from citizen_portal.core.extensions import db

    db.session.commit()
    token = create_api_token(user.username, "graph")
    return location, service, staff, user, token


def headers(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def run_async(coroutine):
    """``asyncio.run`` in a thread of its own: the session's Playwright browser keeps an event loop
    running in the main thread, where ``asyncio.run`` refuses to start."""
    import asyncio
    import threading

    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def unreachable_calendar(staff) -> str:
    """Link ``staff`` to a calendar on a port nobody listens on (events wait in the outbox); its key."""
    from citizen_portal.core.extensions import db
    from staff_calendar.calendars.models import CalendarLink
    from tests.factories import stamp_mirror

    db.session.add(CalendarLink(key=f"staff:{staff.key}", owner_kind="staff", owner_key=staff.key,
                                url="http://127.0.0.1:9/cal/", active=True))
    db.session.flush()
    staff.calendar_key = f"staff:{staff.key}"
    db.session.commit()
    stamp_mirror(staff.calendar_key)
    return staff.calendar_key
