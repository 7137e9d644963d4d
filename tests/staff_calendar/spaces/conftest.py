"""Spaces fixtures: the calendar facade recorded (no CalDAV needed), a site with one floor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from staff_calendar import services as calendar
from staff_calendar.spaces.services import common


@dataclass
class CalendarRecorder:
    events: list[dict] = field(default_factory=list)
    removals: list[dict] = field(default_factory=list)
    busy: dict[str, list] = field(default_factory=dict)
    drains: int = 0

    def schedule_event(self, **kwargs):
        self.events.append(kwargs)

    def schedule_event_removal(self, **kwargs):
        self.removals.append(kwargs)

    def busy_intervals(self, keys, start, end):
        return {key: [(a, b) for a, b in self.busy.get(key, []) if a < end and start < b] for key in keys}

    def is_free(self, key, start, end, *, timeout=None):
        free = not self.busy_intervals([key], start, end)[key]
        return calendar.FreeCheck(free=free, source="mirror")

    def request_drain(self):
        self.drains += 1


@pytest.fixture
def calendar_calls(monkeypatch) -> CalendarRecorder:
    """Record what the spaces services ask of the calendar facade (no CalDAV server needed);
    ``test_outbox.py`` runs the real facade."""
    recorder = CalendarRecorder()
    monkeypatch.setattr(calendar, "schedule_event", recorder.schedule_event)
    monkeypatch.setattr(calendar, "schedule_event_removal", recorder.schedule_event_removal)
    monkeypatch.setattr(calendar, "busy_intervals", recorder.busy_intervals)
    monkeypatch.setattr(calendar, "is_free", recorder.is_free)
    monkeypatch.setattr(calendar, "request_drain", recorder.request_drain)
    return recorder


@pytest.fixture(autouse=True)
def _fresh_layout_cache(request):
    """The shared test app must not keep a desk layout from one (rolled-back) test to the next."""
    if "app" in request.fixturenames:
        app = request.getfixturevalue("app")
        app.config["SPACES_CACHE_SECONDS"] = 0


class Clock:
    """The spaces package's clock (``common.now``), set to a local moment of the site zone."""

    def __init__(self) -> None:
        self.moment: datetime | None = None

    def set(self, day: date, hour: int, minute: int = 0) -> datetime:
        self.moment = datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
        return self.moment

    def __call__(self) -> datetime:
        assert self.moment is not None, "clock.set(...) first"
        return self.moment


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Pages and services of the spaces package read ``common.now()``; this sets it (same process,
    so a live server thread sees it too). Never the wall clock in a test that depends on the hour."""
    fake = Clock()
    monkeypatch.setattr(common, "utc_now", fake)
    return fake
