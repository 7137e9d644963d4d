"""Spaces fixtures: the calendar facade recorded (no CalDAV needed), a site with one floor."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from staff_calendar import services as calendar


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
