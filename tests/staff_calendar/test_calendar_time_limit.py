"""``time_limit.run_with_time_limit``: stops pure-Python work that never returns to our code, and
never lets its exception escape the call, even when the time runs out just as the work ends."""

from __future__ import annotations

import threading
import time

from staff_calendar.calendars.time_limit import TimeLimitExceeded, run_with_time_limit
from tests.fixtures.patience import patience


def test_work_that_never_yields_is_stopped():
    progress = []

    def spin() -> None:
        progress.append("started")
        while True:  # like dateutil looking for a date that never comes
            pass

    started = time.perf_counter()
    assert run_with_time_limit(0.2, spin) is True
    assert 0.15 < time.perf_counter() - started < patience(2) and progress == ["started"]


def test_work_that_swallows_ordinary_exceptions_is_stopped_too():
    def stubborn() -> None:
        while True:
            try:
                sum(range(1000))
            except Exception:  # icalendar's tolerant parsing does this
                continue

    assert run_with_time_limit(0.2, stubborn) is True


def test_work_done_in_time_is_not_touched():
    assert run_with_time_limit(5, lambda: sum(range(1000))) is False


def test_the_exception_never_escapes_when_time_runs_out_as_the_work_ends():
    """Hundreds of races between the timer and the end of the work; afterwards the thread keeps
    running plain code for a while: a late ``TimeLimitExceeded`` would fail this test."""
    errors, outcomes = [], []

    def run() -> None:
        try:
            for n in range(300):
                limit = 0.001 + (n % 7) * 0.0005
                work = lambda n=n: time.sleep(0.001 + (n % 5) * 0.0005) or sum(range(2000))  # noqa: E731
                outcomes.append(run_with_time_limit(limit, work))
            deadline = time.perf_counter() + 0.3
            while time.perf_counter() < deadline:
                sum(range(100))
        except TimeLimitExceeded as exc:  # pragma: no cover - the failure this test looks for
            errors.append(exc)

    worker = threading.Thread(target=run)  # also proves it works outside the main thread
    worker.start()
    worker.join(60)
    assert not worker.is_alive() and errors == []
    assert True in outcomes and False in outcomes  # both sides of the race happened


def test_an_error_of_the_work_reaches_the_caller():
    def broken() -> None:
        raise ValueError("unreadable object")

    try:
        run_with_time_limit(1, broken)
    except ValueError as exc:
        assert str(exc) == "unreadable object"
    else:
        raise AssertionError("the work's error was swallowed")


def test_the_stopped_work_does_not_go_on_in_the_background():
    ticks = []

    def counting() -> None:
        while True:
            ticks.append(1)
            time.sleep(0.001)

    assert run_with_time_limit(0.05, counting) is True
    seen = len(ticks)
    time.sleep(0.1)
    assert len(ticks) == seen
