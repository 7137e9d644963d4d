"""A hard time limit for pure-Python work (reading one remote calendar object).

Why not a clock check inside the loop: dateutil can spend seconds inside one ``next()`` without ever
yielding (``FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30`` never matches and runs towards the year 9999), so
no code of ours runs until it returns. The work therefore runs in a helper thread; the caller waits
for it at most ``seconds``. When the time is up, the caller raises ``TimeLimitExceeded`` inside the
helper thread (``PyThreadState_SetAsyncExc``: delivered between two bytecodes) and goes on. Only the
helper thread can ever receive that exception, so however late it is delivered it cannot hit the
caller's own code. Code running inside a C function cannot be interrupted until it returns; such a
helper thread is left to finish on its own (it is a daemon and holds nothing).

Use it only for work that needs no app or request context and holds no outside resources (no database,
no network, no locks of its own); the work keeps its progress in its own objects, which the caller
may read after the call (the helper has stopped, or no longer writes, when the call returns).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable

STOP_GRACE_SECONDS = 1.0


class TimeLimitExceeded(BaseException):
    """Raised inside the guarded work when its time is up. A ``BaseException``, so that libraries'
    ``except Exception`` (icalendar's tolerant parsing) cannot swallow it."""


def run_with_time_limit(seconds: float, work: Callable[[], None]) -> bool:
    """Run ``work()`` in a helper thread; stop it after ``seconds``. Returns whether the time ran out.
    An exception of ``work`` is raised again here."""
    failure: list[BaseException] = []

    def guarded() -> None:
        try:
            work()
        except TimeLimitExceeded:
            pass
        except BaseException as exc:  # handed to the caller
            failure.append(exc)

    helper = threading.Thread(target=guarded, name="time-limited-work", daemon=True)
    helper.start()
    helper.join(max(seconds, 0.0))
    if helper.is_alive():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(helper.ident),
                                                   ctypes.py_object(TimeLimitExceeded))
        helper.join(STOP_GRACE_SECONDS)
        return True
    if failure:
        raise failure[0]
    return False
