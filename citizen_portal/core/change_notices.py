"""Change notices from PostgreSQL (``LISTEN``/``NOTIFY``): one listening connection per process tells
in-process caches that a table they depend on has changed, so a cache hit needs no round trip.

Rules:
- Triggers (migrations) call ``pg_notify(channel, '')`` in the writing transaction; PostgreSQL
  delivers the notice when that transaction commits, to every listening connection.
- A cache declares its channel with ``register`` at import time. ``state(engine, channel)`` is
  (listening, generation); the generation grows with every notice on any channel and every
  (re)connection of the listener (one connection per process listens on all channels). A cache
  reads the state *before* the query that validates an entry, keeps the generation with the entry,
  and may skip that query while the listener is listening and the generation is unchanged: every
  commit after the query's snapshot sends a notice.
- One listener per process and connection pool: ``engine.dispose()`` (or the engine's end) stops it
  and closes its connection; the next use starts a new one.
- ``listening`` is false until ``LISTEN`` has been acknowledged, after any error of the listener's
  connection (it reconnects with backoff; the reconnection raises the generation), when the
  connection has not proven alive (a notice or a keepalive) for ``ALIVE_SECONDS``, in a forked child
  until its own listener listens, and on every other database (SQLite has no notices): callers then
  validate with a query as before.
- What that costs: a change committed by another process is seen once its notice has arrived (well
  under a millisecond on one machine), not at the very moment of the commit. A booking never relies
  on a cache: it re-checks under its lock.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from citizen_portal.core.database import holds_writes

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 2.0
ALIVE_SECONDS = 5.0
RECONNECT_SECONDS = (0.2, 30.0)  # first and largest wait after a failure
APPLICATION_NAME = "change-notices"  # how the listener's connection shows in pg_stat_activity


_channels: set[str] = set()


def register(channel: str) -> str:
    """Declare a channel a cache depends on (at import time, before the listener connects)."""
    _channels.add(channel)
    return channel


class Listener:
    """One thread with one autocommit connection listening on every registered channel; any notice
    raises the one generation (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        dialect = engine.dialect
        self._connect = lambda: dialect.connect(*cargs, **{**cparams, "application_name": APPLICATION_NAME,
                                                            "autocommit": True})
        self.listened: frozenset[str] = frozenset()
        self.generation = 0
        self.listening = False
        self.alive_at = 0.0
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._wait = RECONNECT_SECONDS[0]
        self.thread = threading.Thread(target=self._run, name="change-notices", daemon=True)
        self.thread.start()

    def state(self, channel: str) -> tuple[bool, int]:
        alive = self.listening and channel in self.listened and time.monotonic() - self.alive_at < ALIVE_SECONDS
        return alive, self.generation

    def stop(self) -> None:
        self.stopped.set()

    def _bump(self) -> None:
        with self._lock:
            self.generation += 1

    def _listen(self) -> None:
        with self._connect() as connection:
            channels = frozenset(_channels)
            for channel in sorted(channels):
                connection.execute(f'LISTEN "{channel}"')
            self.listened = channels
            self.alive_at = time.monotonic()
            self._bump()  # what was cached before this moment is validated once more
            self.listening = True
            self._wait = RECONNECT_SECONDS[0]
            while not self.stopped.is_set():
                for _notice in connection.notifies(timeout=KEEPALIVE_SECONDS):
                    self._bump()
                    self.alive_at = time.monotonic()
                connection.execute("SELECT 1")
                self.alive_at = time.monotonic()

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                self._listen()
            except Exception as exc:  # any failure: validate by query until listening again
                log.warning("change notices: listener failed (%s), reconnecting", type(exc).__name__)
            finally:
                self.listening = False
                self._bump()
            if self.stopped.wait(self._wait):
                return
            self._wait = min(self._wait * 2, RECONNECT_SECONDS[1])


_listeners: dict[tuple[int, int], Listener] = {}
_listeners_lock = threading.Lock()


def listener(engine: Engine) -> Listener | None:
    """This process's listener on ``engine``'s database (started on first use, again in a forked child
    and after ``engine.dispose()``); ``None`` on a database without notices."""
    if engine.dialect.name != "postgresql":
        return None
    key = (os.getpid(), id(engine.pool))
    found = _listeners.get(key)
    if found is None or found.stopped.is_set():
        with _listeners_lock:
            found = _listeners.get(key)
            if found is None or found.stopped.is_set():
                found = _listeners[key] = Listener(engine)
                weakref.finalize(engine.pool, _forget, key, found)  # ends with the pool (``dispose()``)
    return found


def _forget(key: tuple[int, int], found: Listener) -> None:
    found.stop()
    with _listeners_lock:
        if _listeners.get(key) is found:
            del _listeners[key]


def state(engine: Engine, channel: str) -> tuple[bool, int]:
    """(listening on ``channel``, generation) of this process's listener (see the module docstring)."""
    found = listener(engine)
    return found.state(channel) if found is not None else (False, 0)


def for_session(session: Session, channel: str) -> tuple[bool, int]:
    """``state`` for a cache read through ``session``: (False, 0) when the session is not bound to an
    engine (the tests bind it to one connection) or holds writes it has not committed, which a
    cache must not be validated past (its query sees them)."""
    bind = session.get_bind()
    if not isinstance(bind, Engine) or holds_writes(session):
        return False, 0
    return state(bind, channel)


def seen(session: Session, channel: str) -> int | None:
    """The generation to keep with a cache entry read through ``session`` now (read *before* the query
    that validates the entry), or ``None`` while ``for_session`` is not listening: an entry whose kept
    generation equals a later ``seen`` needs no query (``None`` never equals one)."""
    listening, generation = for_session(session, channel)
    return generation if listening else None
