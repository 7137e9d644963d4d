"""Write flows of ``make bench`` driven by Python client threads (a booking is a 100+ ms request,
so 8 threads are far from their own limit, which ``client_ceiling`` shows next to the figure):

- ``book_distinct(url, starts, clients, seconds)``: each client books times from its own share of
  ``starts`` (no two clients want the same time), a new address per booking, one POST each;
- ``rush(url, starts, clients, stop)``: the same until ``stop`` is set (the booking rush that runs
  beside wrk);
- ``race(url, start, clients)``: ``clients`` threads released together POST the same time; returns
  the number of 201 answers (must be exactly the number of free staff members, 1 in the bench);
- ``client_ceiling(url, clients, seconds)``: what the same Python threads reach against the bare
  endpoint (GET), the ceiling of any Python-driven figure.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence

import requests

from bench.common import LoadResult, load, run_clients

_counter = itertools.count()
_counter_lock = threading.Lock()


def _body(start: str, service: str, location: str) -> dict:
    with _counter_lock:
        number = next(_counter)
    return {"service": service, "location": location, "start": start, "name": f"Bench {number}",
            "email": f"bench{number}@example.org", "privacy_consent": True}


def _booker(url: str, mine: list[str], service: str, location: str, keep_going) -> tuple[list[float], int]:
    session = requests.Session()
    latencies: list[float] = []
    failed = 0
    pool = list(mine)
    for start in itertools.cycle(pool):
        if not pool or not keep_going():
            break
        if start not in pool:
            continue
        began = time.monotonic()
        response = session.post(url, json=_body(start, service, location), timeout=60)
        if response.status_code == 201:
            latencies.append((time.monotonic() - began) * 1000)
        else:
            failed += 1
            pool.remove(start)  # every staff member of this time is taken (or it is no longer bookable)
    return latencies, failed


def book_distinct(url: str, starts: Sequence[str], clients: int, seconds: float, *, service: str,
                  location: str) -> LoadResult:
    """Bookings/s of ``clients`` threads booking disjoint times for ``seconds``; 201s count."""
    stop_at = time.monotonic() + seconds
    began = time.monotonic()
    latencies, errors = run_clients(clients, lambda i: _booker(
        url, list(starts[i::clients]), service, location, lambda: time.monotonic() < stop_at))
    return LoadResult(len(latencies), errors, time.monotonic() - began, latencies)


def rush(url: str, starts: Sequence[str], clients: int, stop: threading.Event, *, service: str,
         location: str, into: list[LoadResult]) -> threading.Thread:
    """Start ``clients`` booking threads in the background until ``stop`` is set; their result is
    appended to ``into`` when they end."""
    def main() -> None:
        began = time.monotonic()
        latencies, errors = run_clients(clients, lambda i: _booker(
            url, list(starts[i::clients]), service, location, lambda: not stop.is_set()))
        into.append(LoadResult(len(latencies), errors, time.monotonic() - began, latencies))

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    return thread


def race(url: str, start: str, clients: int, *, service: str, location: str) -> int:
    """Number of 201 answers when ``clients`` threads post the same time at once."""
    barrier = threading.Barrier(clients)
    created = []
    lock = threading.Lock()

    def client(_index: int) -> tuple[list[float], int]:
        session = requests.Session()
        body = _body(start, service, location)
        barrier.wait()
        status = session.post(url, json=body, timeout=120).status_code
        with lock:
            created.append(status == 201)
        return [], 0

    run_clients(clients, client)
    return sum(created)


def client_ceiling(url: str, clients: int, seconds: float) -> LoadResult:
    return load(url, clients, seconds, warmup=0.5)
