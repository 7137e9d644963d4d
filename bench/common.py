"""Shared pieces of the benchmarks: a throwaway database, a gunicorn launcher, a bare-Flask baseline
app, a load driver.

``throwaway_database(url, prefix)`` makes a fresh database (in a throwaway PostgreSQL cluster when no
URL is given) and returns it with its cleanup; ``Gunicorn(app_spec, env, workers)`` starts
``python -m gunicorn`` on a free loopback port and stops it again; ``baseline_app()`` is a Flask app
with one JSON endpoint (``/baseline``), the yardstick for "how fast can this gunicorn set-up answer
at all"; ``load(url, clients, seconds)`` keeps ``clients`` threads with keep-alive sessions busy
(optionally with headers, rotating over several URLs) and returns requests/s and latencies;
``run_clients(clients, client)`` is the thread driver under it; ``merge(results)`` adds up the rounds
of one measurement.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def throwaway_database(url: str | None, prefix: str = "bench") -> tuple[str, Callable[[], None]]:
    """Return (database url, cleanup). A ``sqlite:`` URL is used as it is; on a PostgreSQL server
    (``url``, or a throwaway cluster from Debian's ``initdb`` when ``url`` is None) a new database
    ``<prefix>_<random>`` is created; cleanup stops and removes the throwaway cluster."""
    from sqlalchemy import create_engine, text

    from tests.fixtures.database import PostgresCluster

    if url and url.startswith("sqlite"):
        return url, lambda: None
    cluster = None
    if url is None:
        cluster = PostgresCluster(Path(f"/tmp/bench-pg-{uuid.uuid4().hex[:8]}"))
        cluster.start()
        url = cluster.url()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()

    def cleanup() -> None:
        if cluster is not None:
            cluster.stop()
            shutil.rmtree(cluster.base, ignore_errors=True)

    return url.rsplit("/", 1)[0] + f"/{name}", cleanup


def baseline_app():
    """``gunicorn "bench.common:baseline_app()"``: the bare Flask JSON endpoint."""
    from flask import Flask, jsonify

    app = Flask("baseline")

    @app.get("/baseline")
    def baseline():
        return jsonify({"slots": [{"start": "2026-03-03T09:00:00+01:00", "end": "2026-03-03T09:30:00+01:00",
                                   "location": "rathaus"}]})

    return app


class Gunicorn:
    """A gunicorn subprocess serving ``app_spec`` with ``workers`` sync workers."""

    def __init__(self, app_spec: str, env: dict[str, str] | None = None, workers: int = 4,
                 extra_args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
                   "--graceful-timeout", "5", "--log-level", "warning", *extra_args, app_spec]
        self.process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})},
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self, path: str = "/", timeout: float = 60.0) -> Gunicorn:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.process.stdout.read().decode(errors="replace"))
            try:
                requests.get(self.url + path, timeout=2)
                return self
            except requests.RequestException:
                time.sleep(0.2)
        raise TimeoutError("gunicorn did not answer")

    def stop(self) -> str:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.stdout.read().decode(errors="replace") if self.process.stdout else ""

    def __enter__(self) -> Gunicorn:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")

    def summary(self) -> str:
        return (f"{self.rps:8.1f} req/s  p50 {self.percentile(50):6.1f} ms  p95 {self.percentile(95):6.1f} ms  "
                f"mean {statistics.fmean(self.latencies_ms):6.1f} ms  errors {self.errors}")


def run_clients(clients: int, client: Callable[[int], tuple[list[float], int]]) -> tuple[list[float], int]:
    """Run ``client(0)`` … ``client(clients - 1)`` in parallel threads; each returns its latencies (ms)
    and its number of failed requests; returns all latencies and the failures added up."""
    results: list[tuple[list[float], int]] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        result = client(index)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [ms for latencies, _failed in results for ms in latencies], sum(failed for _latencies, failed in results)


def load(url: str | Sequence[str], clients: int, seconds: float, warmup: float = 1.0,
         headers: dict[str, str] | None = None) -> LoadResult:
    """``clients`` threads GET ``url`` in a loop for ``seconds`` (after ``warmup``); only 200 counts
    as success. Given several URLs, each client goes round them, client ``i`` starting at the i-th."""
    urls = [url] if isinstance(url, str) else list(url)
    start_at = time.monotonic() + warmup
    stop_at = start_at + seconds

    def client(offset: int) -> tuple[list[float], int]:
        session = requests.Session()
        session.headers.update(headers or {})
        mine: list[float] = []
        failed, n = 0, offset
        while True:
            began = time.monotonic()
            if began >= stop_at:
                break
            try:
                ok = session.get(urls[n % len(urls)], timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            n += 1
            ended = time.monotonic()
            if began >= start_at:
                if ok:
                    mine.append((ended - began) * 1000)
                else:
                    failed += 1
        return mine, failed

    latencies, errors = run_clients(clients, client)
    return LoadResult(len(latencies), errors, seconds, latencies)


def merge(results: list[LoadResult]) -> LoadResult:
    """One result for several rounds of the same measurement (requests, errors, time and latencies added up)."""
    return LoadResult(sum(r.requests for r in results), sum(r.errors for r in results),
                      sum(r.seconds for r in results), [x for r in results for x in r.latencies_ms])
