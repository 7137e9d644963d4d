"""A hard time limit for pure-Python work in the current thread (reading one remote calendar object).

Why not a clock check inside the loop: dateutil can spend seconds inside one ``next()`` without ever
yielding (``FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30`` never matches and runs towards the year 9999), so
no code of ours runs until it returns. A timer thread raises ``TimeLimitExceeded`` in the working
thread instead (``PyThreadState_SetAsyncExc``: delivered between two bytecodes, in any thread, unlike
a signal). It fires at most once, and never outside ``run_with_time_limit``: leaving it cancels the
timer and drops an exception that is not yet raised. Use it only for work that holds no outside
resources (no database, no network, no locks of its own).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable


class TimeLimitExceeded(BaseException):
    """Raised inside the guarded work when its time is up. A ``BaseException``, so that libraries'
    ``except Exception`` (icalendar's tolerant parsing) cannot swallow it."""


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exc) if exc is not None else None)


class _Watchdog:
    def __init__(self, seconds: float) -> None:
        self.thread_id = threading.get_ident()
        self.guard = threading.Lock()
        self.armed = True
        self.fired = False
        self.timer = threading.Timer(max(seconds, 0.0), self._fire)
        self.timer.daemon = True

    def _fire(self) -> None:
        with self.guard:
            if self.armed:
                self.fired = True
                _set_async_exc(self.thread_id, TimeLimitExceeded)

    def disarm(self) -> None:
        while True:
            try:
                with self.guard:
                    self.armed = False
                    if self.fired:
                        _set_async_exc(self.thread_id, None)  # drop it if it has not been raised yet
                self.timer.cancel()
                return
            except TimeLimitExceeded:  # raised while disarming: it was the only one
                continue


def run_with_time_limit(seconds: float, work: Callable[[], None]) -> bool:
    """Run ``work()``; stop it after ``seconds``. Returns whether the time ran out (``work`` keeps
    its progress in its own objects, so the caller can use what was done)."""
    watchdog = _Watchdog(seconds)
    watchdog.timer.start()
    try:
        try:
            work()
        finally:
            watchdog.disarm()
    except TimeLimitExceeded:
        pass
    return watchdog.fired
