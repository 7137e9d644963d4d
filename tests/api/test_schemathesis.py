"""schemathesis (pinned in the test extras) against the running app: every operation of
``/api/v1/openapi.json`` with the default checks (no 5xx, responses conform to their schema, status
codes and content types are documented): 0 failures. The number of generated cases is printed
(``-s`` shows it): 2,801 on SQLite with ``MAX_EXAMPLES`` 100.

The app runs as the ``live_server`` (a real HTTP server on loopback, on the suite's database), with a
seeded city: a bookable service, desks and a room, an open poll and a staff member whose API token
schemathesis sends with every request (so the staff operations are exercised beyond their 401)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from citizen_portal.core.api_tokens import create_api_token
from citizen_portal.core.extensions import db
from tests.citizen_portal.booking.factories import make_setup
from tests.factories import make_user
from tests.polls.factories import make_poll
from tests.staff_calendar.spaces.factories import make_desk, make_floor, make_room

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = 100  # per operation and phase: about a minute per database on the 2-core machine


def _seed(app) -> str:
    with app.app_context():
        make_setup()
        floor = make_floor()
        make_desk(floor)
        make_room(floor)
        make_poll(mode="open")
        make_user("fuzzer", roles="staff")
        db.session.commit()
        token = create_api_token("fuzzer", "schemathesis")
        db.session.commit()
        return token


def test_schemathesis_finds_no_failure_in_any_operation(live_server, tmp_path: Path):
    token = _seed(live_server.app)
    report = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "-m", "tests.fixtures.schemathesis_cli", "run", f"{live_server.url}/api/v1/openapi.json",
         "--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--seed", "20261207", "--workers", "1",
         "--phases", "examples,coverage,fuzzing", "--request-timeout", "20", "--no-shrink",
         "--header", f"Authorization: Bearer {token}", "--suppress-health-check", "all",
         "--report", "json", "--report-json-path", str(report), "--output-truncate", "false"],
        capture_output=True, text=True, timeout=900, cwd=ROOT)
    tail = run.stdout[-6000:]
    assert run.returncode == 0, tail + run.stderr[-2000:]
    print(tail)  # the summary: phases, warnings, the number of generated cases
    generated = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert generated and generated.group(1) == generated.group(2), tail
    assert int(generated.group(1)) >= 1000, tail
    assert re.search(r"Tested: 24\b", run.stdout), tail
    assert json.loads(report.read_text())["exit_code"] == 0
