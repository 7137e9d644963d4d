"""Benchmark of poll voting and results (issue 6, item 9).

    .venv/bin/python -m bench.votes [--database-url URL] [--clients 16] [--seconds 15] [--workers 4]

1. the bare Flask endpoint (``bench.common:baseline_app()``) under the same gunicorn set-up: req/s;
2. ``POST /api/v1/polls/<id>/ballots`` with a fresh invitation code per request: ballots/s, and
   afterwards the check that the poll counted exactly the accepted ballots (counters == recount)
   once the pending ballots are written in a batch;
3. the public results page (and the JSON results) of a poll with 100,000 ballots: p50/p95 over HTTP,
   and the in-process time per request (Flask test client in this process, 200 iterations, with
   the results cache warm and with it emptied before every request), which means something even
   when the machine is loaded by other work.

Without ``--database-url`` a throwaway PostgreSQL cluster is made (Debian ``initdb``).
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import requests

from bench.common import Gunicorn, LoadResult, baseline_app, load, run_clients, throwaway_database

assert baseline_app  # the gunicorn app spec below refers to it

RESULT_BALLOTS = 100_000


def make_database(url: str | None):
    """A fresh migrated database (``bench.common.throwaway_database``) and its cleanup."""
    from tests.fixtures.database import migrate

    database_url, cleanup = throwaway_database(url, "bench_votes")
    migrate(database_url)
    return database_url, cleanup


def seed(database_url: str, instance: Path, codes_needed: int) -> tuple[int, list[str], list[dict], str, int]:
    """A voting poll with ``codes_needed`` codes, and a results poll with 100,000 ballots."""
    from sqlalchemy import func, insert, select

    from citizen_portal.app import create_app
    from citizen_portal.core.extensions import db
    from polls.models import (
        TALLY_ANSWERED,
        TALLY_BALLOTS,
        TALLY_VOTES,
        Ballot,
        BallotChoice,
        Poll,
        Receipt,
        Tally,
        random_id,
    )
    from polls.schemas import PollInput, QuestionInput
    from polls.services import participation
    from polls.services import polls as poll_service
    from polls.services.common import now

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "REQUEST_LOG": False})
    with app.app_context():
        def make(slug: str) -> Poll:
            poll = poll_service.create_poll(PollInput(
                slug=slug, title_de=slug, mode="codes", results_visibility="live",
                opens_at=now() - timedelta(days=1), closes_at=now() + timedelta(days=7)), None)
            poll_service.add_question(poll.id, QuestionInput(kind="single", text_de="Farbe?",
                                                             options_de=("Rot", "Grün", "Blau")))
            poll_service.add_question(poll.id, QuestionInput(kind="multiple", text_de="Tage?",
                                                             options_de=("Mo", "Di", "Mi", "Do"), max_choices=2))
            poll_service.add_question(poll.id, QuestionInput(kind="rating", text_de="Wie gut?"))
            return db.session.get(Poll, poll.id)

        voting = make("bench-abstimmung")
        codes = []
        for _batch in range(0, codes_needed, 20_000):
            codes += participation.batch_codes(participation.generate_codes(voting.id, 20_000))
        questions = [{"id": q.id, "kind": q.kind, "options": [o.id for o in q.options]} for q in voting.questions]

        results_poll = make("bench-ergebnisse")
        option_lists = [[o.id for o in q.options] for q in results_poll.questions]
        rng = random.Random(7)
        for start in range(0, RESULT_BALLOTS, 10_000):
            ballots, choices, receipts = [], [], []
            for _ in range(start, min(RESULT_BALLOTS, start + 10_000)):
                ballot_id = random_id()
                ballots.append({"id": ballot_id, "poll_id": results_poll.id})
                picked = [rng.choice(option_lists[0]), *rng.sample(option_lists[1], 2), rng.choice(option_lists[2])]
                choices.extend({"ballot_id": ballot_id, "option_id": o} for o in picked)
                receipts.append({"receipt_hash": uuid.uuid4().hex * 2, "poll_id": results_poll.id})
            db.session.execute(insert(Ballot), ballots)
            db.session.execute(insert(BallotChoice), choices)
            db.session.execute(insert(Receipt), receipts)
        counts = dict(db.session.execute(
            select(BallotChoice.option_id, func.count()).group_by(BallotChoice.option_id)).all())
        tallies = [(TALLY_BALLOTS, 0, RESULT_BALLOTS)]
        tallies += [(TALLY_ANSWERED, q.id, RESULT_BALLOTS) for q in results_poll.questions]
        tallies += [(TALLY_VOTES, o, counts.get(o, 0)) for options in option_lists for o in options]
        db.session.execute(insert(Tally), [{"poll_id": results_poll.id, "kind": kind, "ref": ref, "shard": 0, "n": n}
                                           for kind, ref, n in tallies])
        db.session.commit()
        voting_id, results_slug, results_id = voting.id, results_poll.slug, results_poll.id
        db.engine.dispose()
    return voting_id, codes, questions, results_slug, results_id


def post_ballots(url: str, codes: list[str], questions: list[dict], clients: int, seconds: float) -> LoadResult:
    """``clients`` threads POST ballots, each with the next unused code, for ``seconds`` or until the
    codes run out; only 201 counts as success."""
    iterator = iter(codes)
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def answers(rng: random.Random) -> dict:
        single, multiple, rating = questions
        return {str(single["id"]): rng.choice(single["options"]),
                str(multiple["id"]): rng.sample(multiple["options"], 2), str(rating["id"]): rng.randint(1, 5)}

    def client(seed_value: int) -> tuple[list[float], int]:
        session = requests.Session()
        rng = random.Random(seed_value)
        mine: list[float] = []
        failed = 0
        while time.monotonic() < stop_at:
            with lock:
                code = next(iterator, None)
            if code is None:
                break
            began = time.monotonic()
            response = session.post(url, json={"code": code, "answers": answers(rng)}, timeout=30)
            if response.status_code == 201:
                mine.append((time.monotonic() - began) * 1000)
            else:
                failed += 1
        return mine, failed

    started = time.monotonic()
    latencies, errors = run_clients(clients, client)
    return LoadResult(len(latencies), errors, time.monotonic() - started, latencies)


def check_exact(database_url: str, poll_id: int, accepted: int) -> str:
    from citizen_portal.app import create_app
    from citizen_portal.core.extensions import db
    from polls.services.ballot_batches import flush_until_done
    from polls.services.results import ballot_total, recount

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "REQUEST_LOG": False})
    with app.app_context():
        flush_until_done(poll_id, minimum=0)  # the last batches, as at the close (issue 18.1)
        counted = ballot_total(poll_id)
        differences = recount(poll_id)
        db.engine.dispose()
    ok = counted == accepted and not differences
    verdict = "OK" if ok else "FAIL"
    return f"accepted {accepted}, counted {counted}, recount differences {differences or 'none'} → {verdict}"


def in_process(database_url: str, paths: list[str], iterations: int = 200) -> list[str]:
    """Time ``iterations`` GETs per path with the Flask test client in this process: cache warm,
    and cache emptied before every request (version check + counters + template)."""
    from citizen_portal.app import create_app
    from citizen_portal.core.extensions import db
    from polls.services.results import results_cache

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "REQUEST_LOG": False,
                      "RATELIMIT_ENABLED": False})
    lines = []
    with app.test_client() as client:
        for path in paths:
            for label, clear in (("cached", False), ("uncached", True)):
                for _ in range(20):  # warm-up: imports, template compilation, connections
                    assert client.get(path).status_code == 200
                timings = []
                for _ in range(iterations):
                    if clear:
                        with app.app_context():
                            results_cache().entries.clear()
                    began = time.perf_counter()
                    response = client.get(path)
                    timings.append((time.perf_counter() - began) * 1000)
                    assert response.status_code == 200
                result = LoadResult(len(timings), 0, sum(timings) / 1000, timings)
                lines.append(f"  {path} ({label:8}): p50 {result.percentile(50):6.2f} ms  "
                             f"p95 {result.percentile(95):6.2f} ms")
    with app.app_context():
        db.engine.dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    database_url, cleanup = make_database(args.database_url)
    instance = Path(tempfile.mkdtemp(prefix="bench-votes-"))
    try:
        print(f"seeding: {RESULT_BALLOTS} ballots for the results poll …", flush=True)
        began = time.monotonic()
        poll_id, codes, questions, results_slug, results_id = seed(database_url, instance, 60_000)
        print(f"seeded in {time.monotonic() - began:.1f} s")
        env = {"PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "bench", "PORTAL_RATELIMIT_ENABLED": "false",
               "PORTAL_CAPTCHA": "off", "PORTAL_REQUEST_LOG": "false", "PORTAL_INSTANCE_PATH": str(instance)}
        with Gunicorn("bench.common:baseline_app()", workers=args.workers) as baseline:
            baseline.wait("/baseline")
            base = load(baseline.url + "/baseline", args.clients, args.seconds)
        print(f"bare Flask endpoint  ({args.workers} workers, {args.clients} clients): {base.summary()}")
        with Gunicorn("citizen_portal.app:create_app()", env=env, workers=args.workers) as server:
            server.wait("/beteiligung")
            votes = post_ballots(f"{server.url}/api/v1/polls/{poll_id}/ballots", codes, questions,
                                 args.clients, args.seconds)
            print(f"ballots (POST, PostgreSQL):                 {votes.summary()}")
            print(f"ballots/s relative to the bare endpoint: {votes.rps / base.rps:.1%}")
            page = load(f"{server.url}/beteiligung/{results_slug}/ergebnisse", 4, args.seconds / 2)
            print(f"results page, {RESULT_BALLOTS:,} ballots (4 clients):  {page.summary()}")
            api = load(f"{server.url}/api/v1/polls/{results_id}/results", 4, args.seconds / 2)
            print(f"results JSON, {RESULT_BALLOTS:,} ballots (4 clients):  {api.summary()}")
            target = "met" if page.percentile(95) <= 30 else "MISSED"
            print(f"target results page p95 <= 30 ms (HTTP): {target}")
        print("exact count:", check_exact(database_url, poll_id, votes.requests))
        print(f"in-process time per request, {RESULT_BALLOTS:,} ballots (Flask test client, 200 iterations):")
        for line in in_process(database_url, [f"/beteiligung/{results_slug}/ergebnisse",
                                                        f"/api/v1/polls/{results_id}/results"]):
            print(line)
    finally:
        shutil.rmtree(instance, ignore_errors=True)
        cleanup()


if __name__ == "__main__":
    main()
