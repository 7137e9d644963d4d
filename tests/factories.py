"""Factories for core test data: staff accounts, locations, services, staff members; ``login``.

Each factory adds the object, flushes (so ``id`` is set) and returns it; commit yourself when a
live server must see the data. Call inside an app context (the ``app`` fixture, or
``with live_server.app.app_context():``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import holidays

from citizen_portal.booking.models import Location, Service, StaffMember
from citizen_portal.core.extensions import db
from citizen_portal.core.models import User

_counter = itertools.count(1)

WEEKDAYS_8_TO_16 = {day: ["08:00-16:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def _next() -> int:
    return next(_counter)


def make_user(username: str | None = None, roles: str | list[str] = "staff", password: str | None = "pw",
              **kw: Any) -> User:
    """A staff account with an argon2 hash of ``password`` (``None``: no password, cannot log in)."""
    from citizen_portal.auth.services import hash_password

    username = username or f"user{_next()}"
    if isinstance(roles, list | tuple):
        roles = ",".join(roles)
    kw.setdefault("display_name", username.title())
    kw.setdefault("email", f"{username}@musterhausen.example")
    user = User(username=username, roles=roles,
                password_hash=hash_password(password) if password is not None else None, **kw)
    db.session.add(user)
    db.session.commit()
    return user


def make_location(key: str | None = None, name: str | dict[str, str] | None = None, **kw: Any) -> Location:
    key = key or f"location{_next()}"
    if name is None:
        name = {"de": f"Amt {key}", "en": f"Office {key}"}
    elif isinstance(name, str):
        name = {"de": name, "en": name}
    kw.setdefault("address", "Marktplatz 1, 74523 Musterhausen")
    kw.setdefault("opening_hours", dict(WEEKDAYS_8_TO_16))
    kw.setdefault("closures", [])
    location = Location(key=key, name=name, **kw)
    db.session.add(location)
    db.session.commit()
    return location


def make_service(key: str | None = None, name: str | dict[str, str] | None = None,
                 locations: list[Location] | None = None, **kw: Any) -> Service:
    key = key or f"service{_next()}"
    if name is None:
        name = {"de": f"Dienst {key}", "en": f"Service {key}"}
    elif isinstance(name, str):
        name = {"de": name, "en": name}
    kw.setdefault("duration_minutes", 15)
    kw.setdefault("buffer_minutes", 0)
    kw.setdefault("min_lead_hours", 2)
    kw.setdefault("horizon_days", 60)
    service = Service(key=key, name=name, **kw)
    service.locations = list(locations or [])
    db.session.add(service)
    db.session.commit()
    return service


def make_staff(key: str | None = None, name: str | None = None, locations: list[Location] | None = None,
               services: list[Service] | None = None, **kw: Any) -> StaffMember:
    """A staff member (``calendar_key`` only if a ``CalendarLink`` with that key exists)."""
    key = key or f"staff{_next()}"
    kw.setdefault("email", f"{key}@musterhausen.example")
    member = StaffMember(key=key, name=name or key.title(), **kw)
    member.locations = list(locations or [])
    member.services = list(services or [])
    db.session.add(member)
    db.session.commit()
    return member


FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def stamp_mirror(calendar_key: str, synced_at: datetime | None = None, until: datetime = FAR_FUTURE):
    """Stamp ``calendar_key`` as synced, its mirror reaching ``until``: what ``mirror.sync_calendar``
    writes with the busy time (tests that write busy rows themselves, or none). Without it the slot
    engine does not offer the calendar's owner (nothing mirrored)."""
    from staff_calendar.calendars.models import CalendarSyncState

    state = db.session.get(CalendarSyncState, calendar_key) or CalendarSyncState(calendar_key=calendar_key, mode="sync")
    state.last_success_at = synced_at or datetime.now(UTC)
    state.window_start, state.window_end = datetime(2000, 1, 1, tzinfo=UTC), until
    db.session.add(state)
    db.session.commit()
    return state


def login(client, username: str, password: str = "pw", follow_redirects: bool = False):
    """Log in through the real form (works with CSRF on: reads the token from the page)."""
    import re

    page = client.get("/anmelden")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    data = {"username": username, "password": password}
    if match:
        data["csrf_token"] = match.group(1)
    return client.post("/anmelden", data=data, follow_redirects=follow_redirects)


def build_app(database_url: str, instance, **overrides: Any):
    """A separate app (e.g. with CSRF or rate limits on, or with test-only routes added before its
    first request) on ``database_url`` (use ``fresh_database_url``). Don't mix with ``app``."""
    from citizen_portal.app import create_app
    from tests.fixtures.database import make_test_config

    config = make_test_config(database_url, instance)
    config.update(overrides)
    return create_app(config)


@contextmanager
def two_workers(database_url: str, instance: Path) -> Iterator[tuple[Any, Any]]:
    """Two apps on one database (= two gunicorn workers, each with its own caches and change-notice
    listener); their engines are disposed afterwards."""
    workers = (build_app(database_url, instance / "a"), build_app(database_url, instance / "b"))
    try:
        yield workers
    finally:
        for worker in workers:
            with worker.app_context():
                db.session.remove()
                db.engine.dispose()


def not_a_holiday(day: date, bundesland: str | None = "BW") -> date:
    """``day``, or the first day after it that is no German public holiday (national ones and the
    Bundesland's): a test that needs "a bookable day N days ahead" must not land on Good Friday."""
    public = holidays.country_holidays("DE", subdiv=bundesland, years=[day.year, day.year + 1])
    while day in public:
        day += timedelta(days=1)
    return day


def log_in_session(session, user: User) -> None:
    """Put ``user`` into a test client's session as the login form would (``client.session_transaction()``)."""
    from citizen_portal.core.i18n import utc_now

    session["_user_id"] = user.get_id()
    session["_fresh"] = True
    session["last_seen"] = int(utc_now().timestamp())
