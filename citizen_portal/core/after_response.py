"""Work that must not delay an answer: mail delivery, and work whose duration would tell something.

Rules:
- ``after_response(task, *args)`` inside a request with ``AFTER_RESPONSE_IN_BACKGROUND`` on: the task
  is handed to this process's courier thread once the response has been sent (WSGI ``close``), so the
  client neither waits for an SMTP relay nor can time whether a mail was sent. Outside a request (CLI,
  worker) or with the setting off (the test client never closes responses): it runs at once.
- The courier is one daemon thread per process (started lazily, again after a fork); each task runs in
  its own app context and a failing task is logged by name and never stops the courier.
- Nothing depends on the courier for durability: whoever hands work over has stored it first (the
  mail outbox row), and the worker finishes what a killed process left. At exit the process waits up
  to ``DRAIN_AT_EXIT_SECONDS`` for the courier's queue.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, has_request_context
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

DRAIN_AT_EXIT_SECONDS = 10.0

Task = tuple[Flask, Callable[..., Any], tuple[Any, ...]]

_tasks: queue.Queue[Task] = queue.Queue()
_courier: threading.Thread | None = None
_courier_pid = 0
_start_lock = threading.Lock()


def after_response(task: Callable[..., Any], *args: Any) -> None:
    """Run ``task(*args)`` after the current response has been sent (see the module's rules)."""
    app = current_app._get_current_object()
    if not has_request_context() or not app.config["AFTER_RESPONSE_IN_BACKGROUND"]:
        task(*args)
        return
    if "after_response_tasks" not in g:
        g.after_response_tasks = []
    g.after_response_tasks.append((app, task, args))


def wait_until_idle(timeout: float = DRAIN_AT_EXIT_SECONDS) -> bool:
    """Wait until every handed-over task has run (tests, shutdown); False on timeout."""
    deadline = time.monotonic() + timeout
    with _tasks.all_tasks_done:  # Queue.join with a timeout (no thread: this also runs at exit)
        while _tasks.unfinished_tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            _tasks.all_tasks_done.wait(remaining)
    return True


def _hand_over_when_closed(response: Response) -> Response:
    tasks = g.pop("after_response_tasks", None)
    if tasks:
        response.call_on_close(lambda: _enqueue(tasks))
    return response


def _enqueue(tasks: list[Task]) -> None:
    _ensure_courier()
    for task in tasks:
        _tasks.put(task)


def _ensure_courier() -> None:
    global _courier, _courier_pid
    with _start_lock:
        if _courier is not None and _courier.is_alive() and _courier_pid == os.getpid():
            return
        _courier_pid = os.getpid()
        _courier = threading.Thread(target=_run_courier, name="after-response", daemon=True)
        _courier.start()


def _run_courier() -> None:
    while True:
        app, task, args = _tasks.get()
        try:
            with app.app_context():
                task(*args)
        except Exception as exc:  # the task's name and the error's type only: messages may carry personal data
            log.error("after-response task failed: %s (%s)", getattr(task, "__qualname__", task), type(exc).__name__)
        finally:
            _tasks.task_done()


def init_app(app: Flask) -> None:
    """Hand a request's tasks to the courier when its response is closed."""
    app.after_request(_hand_over_when_closed)


atexit.register(lambda: _courier is not None and wait_until_idle())
