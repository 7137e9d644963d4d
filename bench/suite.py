"""``make bench``: every row of issue 13's target table from one run, printed as one table.

    .venv/bin/python -m bench.suite [--seconds 5] [--rounds 3] [--only sqlite|postgresql]

For SQLite (gunicorn 2 sync workers) and PostgreSQL (4 workers, a throwaway cluster like the tests
make) the same steps: seed the ``bench.slots`` city (10 staff, 2,000 mirrored busy events), the
``bench.desks`` floor and a ``bench.votes`` poll, each in its own database; start the bare Flask
endpoint (``bench.common.baseline_app``) and the portal with the same gunicorn settings; then in
``--rounds`` interleaved rounds, each ``--seconds`` long per target: wrk on the bare endpoint, wrk
on 1-day slots, 28-day slots, 1-day slots while 4 Python clients book as fast as they can (the
rush), desks availability, ballots (POST, one code each); and 8 Python clients booking distinct
times. Ratios are taken per round against the bare endpoint of the same round; the table shows the
median. Then: a 30-client race for one time (winners must equal the staff free then), double
bookings over everything booked (must be 0), cold slot computation in-process, RSS per worker with
the demo city (``demo/site.toml``). Captcha, rate limits, request log and the after-commit outbox
drain are off; without an SMTP host the mails are written to the instance folder (after the commit,
in the request, as in production).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import requests

from bench import writes, wrk
from bench.common import ROOT, Gunicorn, throwaway_database

SERVICE, LOCATION = "personalausweis", "rathaus"


class Table:
    """Rows of (measure, database, figures per round) → the printed table."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, measure: str, database: str, target: str, *, rps: list[float] | None = None,
            ratios: list[float] | None = None, p: tuple[float, float, float] | None = None, value: str = "",
            met: bool | None = None, note: str = "") -> None:
        self.rows.append(dict(measure=measure, database=database, target=target, rps=rps or [], ratios=ratios or [],
                              p=p, value=value, met=met, note=note))
        print(f"  {measure} [{database}]: {self.cells(self.rows[-1])}", flush=True)

    @staticmethod
    def cells(row: dict) -> str:
        parts = []
        if row["rps"]:
            parts.append(f"{statistics.median(row['rps']):,.0f}/s")
        if row["p"]:
            parts.append("p50/p95/p99 " + "/".join(f"{x:.1f}" for x in row["p"]) + " ms")
        if row["ratios"]:
            parts.append("ratio " + " ".join(f"{r:.2f}" for r in row["ratios"])
                         + f" → median **{statistics.median(row['ratios']):.2f}**")
        if row["value"]:
            parts.append(row["value"])
        return "; ".join(parts)

    def markdown(self) -> str:
        lines = ["| measure | db, workers | figures (per round → median) | target | met |",
                 "|---|---|---|---|---|"]
        for row in self.rows:
            met = "" if row["met"] is None else ("✔" if row["met"] else "✘")
            note = f" ({row['note']})" if row["note"] else ""
            cells = f"{self.cells(row)}{note}"
            lines.append(f"| {row['measure']} | {row['database']} | {cells} | {row['target']} | {met} |")
        return "\n".join(lines)


def _median_p(results: list[wrk.WrkResult]) -> tuple[float, float, float]:
    return (statistics.median(r.p50 for r in results), statistics.median(r.p95 for r in results),
            statistics.median(r.p99 for r in results))


def seed_all(make_db, workdir: Path, first_day: date) -> dict:
    """Three databases: slots city, desks floor, votes poll (see the module docstring)."""
    import bench.votes as votes
    from bench import desks, slots

    slots_url = make_db("bench_slots")
    slots.seed(slots_url, workdir, first_day)
    desks_url = make_db("bench_desks")
    days = desks.working_days(first_day, 10)
    desks.seed(desks_url, days)
    votes_url = make_db("bench_votes")
    from tests.fixtures.database import migrate

    migrate(votes_url)
    votes.RESULT_BALLOTS = 0  # the results page is not a row of this table
    poll_id, codes, questions, _slug, _id = votes.seed(votes_url, workdir, 20_000)
    ballots = workdir / f"ballots-{poll_id}-{abs(hash(votes_url))}.jsonl"
    import json
    import random

    rng = random.Random(13)
    single, multiple, rating = questions
    with ballots.open("w") as out:
        for code in codes:
            out.write(json.dumps({"code": code, "answers": {
                str(single["id"]): rng.choice(single["options"]),
                str(multiple["id"]): rng.sample(multiple["options"], 2),
                str(rating["id"]): rng.randint(1, 5)}}) + "\n")
    return {"slots": slots_url, "desks": desks_url, "votes": votes_url, "poll_id": poll_id, "ballots": ballots,
            "days": days}


def env_for(database_url: str, workdir: Path) -> dict[str, str]:
    return {"PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "bench", "PORTAL_INSTANCE_PATH": str(workdir),
            "PORTAL_CAPTCHA": "off", "PORTAL_RATELIMIT_ENABLED": "false", "PORTAL_REQUEST_LOG": "false",
            "PORTAL_OUTBOX_DRAIN_AFTER_COMMIT": "false"}


def double_bookings(database_url: str) -> int:
    """Pairs of overlapping active appointments of one staff member (must be 0)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as connection:
        count = connection.execute(text(
            "SELECT count(*) FROM appointments a JOIN appointments b ON a.staff_id = b.staff_id AND a.id < b.id "
            "AND a.start_at < b.blocked_until AND b.start_at < a.blocked_until "
            "WHERE a.status IN ('confirmed', 'pending_confirmation') "
            "AND b.status IN ('confirmed', 'pending_confirmation')")).scalar()
    engine.dispose()
    return count


def run_database(kind: str, args, table: Table) -> None:
    """All rows of one database kind (see the module docstring)."""
    from tests.fixtures.database import PostgresCluster

    workers = 2 if kind == "sqlite" else 4
    label = f"{'SQLite' if kind == 'sqlite' else 'PostgreSQL'}, {workers} w"
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-suite-{kind}-"))
    cluster = None
    if kind == "sqlite":
        def make_db(name: str) -> str:
            return f"sqlite:///{workdir / name}.db"
    else:
        cluster = PostgresCluster(Path(f"/tmp/bench-pg-{workdir.name}"))  # readable by the postgres user
        cluster.start()

        def make_db(name: str) -> str:
            return throwaway_database(cluster.url(), name)[0]
    try:
        first_day = date.today() + timedelta(days=1)
        print(f"{label}: seeding", flush=True)
        seeded = seed_all(make_db, workdir, first_day)
        servers = {name: Gunicorn("citizen_portal.app:create_app()", env_for(seeded[name], workdir), workers)
                   for name in ("slots", "desks", "votes")}
        baseline = Gunicorn("bench.common:baseline_app()", env_for(seeded["slots"], workdir), workers)
        try:
            baseline.wait("/baseline")
            for server in servers.values():
                server.wait("/healthz")
            measure_rounds(args, table, label, servers, baseline, seeded, first_day)
        finally:
            for server in (*servers.values(), baseline):
                server.stop()
        table.add("double bookings (all bookings of this run + 30-client race)", label, "0",
                  value=str(double_bookings(seeded["slots"])), met=double_bookings(seeded["slots"]) == 0)
    finally:
        if cluster is not None:
            cluster.stop()
            shutil.rmtree(cluster.base, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)


def measure_rounds(args, table: Table, label: str, servers: dict, baseline: Gunicorn, seeded: dict,
                   first_day: date) -> None:
    slots_url = servers["slots"].url
    day = first_day + timedelta(days=(7 - first_day.weekday()) % 7 + 1)  # a Tuesday: a working day
    one_day = f"{slots_url}/api/v1/services/{SERVICE}/slots?from={day}&to={day}"
    four_weeks = f"{slots_url}/api/v1/services/{SERVICE}/slots?from={first_day}&to={first_day + timedelta(days=27)}"
    starts = [slot["start"] for slot in requests.get(four_weeks, timeout=60).json()["slots"]]
    rush_starts, write_starts = starts[0::2], starts[1::2]  # disjoint: the rush and the 8 clients
    book_url = f"{slots_url}/api/v1/appointments"
    desks_urls = [f"{servers['desks'].url}/api/v1/desks?date={d}&floor=rathaus-3og" for d in seeded["days"][:1]]
    from bench.desks import TOKEN

    results: dict[str, list] = {key: [] for key in ("base", "slots1", "slots28", "rush", "rush_writes", "desks",
                                                    "ballots", "book8")}
    for round_number in range(args.rounds):
        print(f"{label}: round {round_number + 1}/{args.rounds}, load average {os.getloadavg()[0]:.1f}", flush=True)
        results["base"].append(wrk.run(baseline.url + "/baseline", args.seconds))
        results["slots1"].append(wrk.run(one_day, args.seconds))
        results["slots28"].append(wrk.run(four_weeks, args.seconds))
        stop = threading.Event()
        booked: list = []
        thread = writes.rush(book_url, rush_starts, 4, stop, service=SERVICE, location=LOCATION, into=booked)
        results["rush"].append(wrk.run(one_day, args.seconds))
        stop.set()
        thread.join()
        results["rush_writes"].append(booked[0])
        results["desks"].append(wrk.run(desks_urls[0], args.seconds, headers={"Authorization": f"Bearer {TOKEN}"}))
        results["ballots"].append(wrk.run(f"{servers['votes'].url}/api/v1/polls/{seeded['poll_id']}/ballots",
                                          args.seconds, body_lines=seeded["ballots"],
                                          first_line=round_number * 6000))  # unused codes each round
        results["book8"].append(writes.book_distinct(book_url, write_starts, 8, args.seconds,
                                                     service=SERVICE, location=LOCATION))
    base = results["base"]

    def ratios(key: str) -> list[float]:
        return [r.rps / b.rps for r, b in zip(results[key], base, strict=True)]

    table.add("bare Flask JSON endpoint (wrk)", label, "—", rps=[b.rps for b in base], p=_median_p(base))
    sqlite = label.startswith("SQLite")
    for key, name, target in (("slots1", "slots 1 day, cached / bare (wrk)", 0.6 if sqlite else 0.5),
                              ("slots28", "slots 28 days, cached / bare (wrk)", 0.6 if sqlite else 0.5),
                              ("rush", "slots 1 day during the booking rush / bare (wrk + 4 booking clients)", 0.4),
                              ("desks", "desks availability / bare (wrk)", 0.5),
                              ("ballots", "ballots (POST) / bare (wrk)", 0.5)):
        rs = results[key]
        met = statistics.median(ratios(key)) >= target
        extra = ""
        if key == "rush":
            p99_ok = _median_p(rs)[2] <= 50
            met = met and p99_ok
            bookings = results["rush_writes"]
            extra = f"meanwhile {statistics.median(b.rps for b in bookings):.0f} bookings/s"
        if key == "ballots":
            extra = f"non-2xx {sum(r.non2xx for r in rs)}"
        table.add(name, label, f"≥ {target}" + (", p99 ≤ 50 ms" if key == "rush" else ""), rps=[r.rps for r in rs],
                  ratios=ratios(key), p=_median_p(rs), met=met, value=extra)
    book = results["book8"]
    ceiling = writes.client_ceiling(baseline.url + "/baseline", 8, min(args.seconds, 3))
    target = 150 if sqlite else 200
    rates = [b.rps for b in book]
    table.add("bookings/s, 8 Python clients, distinct times (POST /api/v1/appointments)", label, f"≥ {target}",
              rps=rates, p=(statistics.median(b.percentile(50) for b in book),
                            statistics.median(b.percentile(95) for b in book),
                            statistics.median(b.percentile(99) for b in book)),
              value=f"409s {sum(b.errors for b in book)}", met=statistics.median(rates) >= target,
              note=f"the same 8 Python threads reach {ceiling.rps:,.0f} req/s on the bare endpoint: "
                   + ("the client is not the limit" if ceiling.rps > 3 * statistics.median(rates) else
                      "the client may be the limit"))
    free = next(s for s in write_starts[::-1])
    winners = writes.race(book_url, free, 30, service=SERVICE, location=LOCATION)
    table.add("30-client race for one time", label, "winners ≤ staff free then (10)",
              value=f"{winners} × 201", met=winners <= 10)


def cold_slots(table: Table) -> None:
    """In-process slot computation (cache emptied), 10 staff × 4 weeks, SQLite."""
    from bench import slots

    workdir = Path(tempfile.mkdtemp(prefix="bench-suite-cold-"))
    try:
        url = f"sqlite:///{workdir}/cold.db"
        first_day = date.today() + timedelta(days=1)
        slots.seed(url, workdir, first_day)
        from bench.profile_slots import time_plan

        times = time_plan(url, first_day, 28, iterations=100)
        p50 = statistics.median(times)
        table.add("cold slots, 10 staff × 4 weeks, in-process (slot_engine.plan)", "SQLite", "≤ 5 ms",
                  value=f"p50 {p50:.1f} ms, min {min(times):.1f} ms", met=p50 <= 5)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def demo_rss(table: Table) -> None:
    """RSS per gunicorn worker with the demo city, after each worker served every kind of page."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-suite-demo-"))
    try:
        env = {**env_for(f"sqlite:///{workdir}/demo.db", workdir), "FLASK_APP": "citizen_portal.app:create_app"}
        flask = [str(Path(sys.executable).parent / "flask")]
        subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)
        subprocess.run([*flask, "site", "load", "demo/site.toml"], cwd=ROOT, env={**os.environ, **env}, check=True,
                       capture_output=True)
        with Gunicorn("citizen_portal.app:create_app()", env, 2) as server:
            server.wait("/healthz")
            day = date.today() + timedelta(days=3)
            paths = ["/", "/termine/", "/api/v1/services", "/beteiligung/", "/api/v1/openapi.json"]
            services = requests.get(server.url + "/api/v1/services", timeout=30).json()
            for item in (services.get("services", services) if isinstance(services, dict) else services)[:3]:
                paths.append(f"/api/v1/services/{item['key']}/slots?from={day}&to={day + timedelta(days=27)}")
            for _ in range(20):
                for path in paths:
                    requests.get(server.url + path, timeout=30)
            rss = worker_rss_mb(server.process.pid)
        table.add("RSS per gunicorn worker, demo city", "SQLite, 2 w", "≤ 150 MB",
                  value=", ".join(f"{mb:.0f} MB" for mb in rss), met=bool(rss) and max(rss) <= 150)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def worker_rss_mb(master_pid: int) -> list[float]:
    """RSS of the gunicorn master's worker processes (children of the python master)."""
    sizes = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if int(fields.get("PPid", "0").strip()) == master_pid:
            sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
    return sorted(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    if not wrk.available():
        sys.exit("make bench needs wrk (Debian: apt-get install wrk); the read endpoints are measured with it.")
    began = time.monotonic()
    table = Table()
    print(f"bench suite: {args.rounds} interleaved rounds of {args.seconds:.0f} s per target; "
          f"load average at start {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    for kind in ("sqlite", "postgresql"):
        if args.only in (None, kind):
            run_database(kind, args, table)
    cold_slots(table)
    demo_rss(table)
    print()
    print(f"date {date.today()}, {os.cpu_count()} cores, load average at end "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, wall time {time.monotonic() - began:.0f} s")
    print(table.markdown())


if __name__ == "__main__":
    main()
