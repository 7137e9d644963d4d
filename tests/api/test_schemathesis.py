"""schemathesis (pinned in the test extras) against the running app: every operation of
``/api/v1/openapi.json`` with the default checks (no 5xx, responses conform to their schema, status
codes and content types are documented): 0 failures. The number of generated cases is printed
(``-s`` shows it): 3,542 on SQLite and on PostgreSQL with ``MAX_EXAMPLES`` 100.

The app runs as the ``live_server`` (a real HTTP server on loopback, on the suite's database), with a
seeded city: a bookable service, desks and a room, an open poll and a staff member whose API token
schemathesis sends with every request (so the staff operations are exercised beyond their 401)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from citizen_portal.core import api_clients
from citizen_portal.core.api_tokens import create_api_token
from citizen_portal.core.extensions import db
from tests.citizen_portal.booking.factories import make_setup
from tests.factories import make_user
from tests.polls.factories import make_poll
from tests.staff_calendar.spaces.factories import make_desk, make_floor, make_room
from tests.staff_calendar.spaces.public.helpers import public_table

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = 100  # per operation and phase: about a minute per database on the 2-core machine


def _seed(app) -> str:
    with app.app_context():
        make_setup()
        floor = make_floor()
        make_desk(floor)
        make_room(floor)
        make_room(floor, "buergerraum", public=public_table())  # rooms for citizens
        make_poll(mode="open")
        make_user("fuzzer", roles="staff")
        db.session.commit()
        token = create_api_token("fuzzer", "schemathesis")
        db.session.commit()
        return token


def _schemathesis(url: str, token: str, report: Path, *selection: str) -> tuple[str, int]:
    """One run with the default checks; the output's tail and the number of generated cases."""
    run = subprocess.run(
        [sys.executable, "-m", "tests.fixtures.schemathesis_cli", "run", url,
         "--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--seed", "20261207", "--workers", "1",
         "--phases", "examples,coverage,fuzzing", "--request-timeout", "20", "--no-shrink",
         "--header", f"Authorization: Bearer {token}", "--suppress-health-check", "all", *selection,
         "--report", "json", "--report-json-path", str(report), "--output-truncate", "false"],
        capture_output=True, text=True, timeout=900, cwd=ROOT)
    tail = run.stdout[-6000:]
    assert run.returncode == 0, tail + run.stderr[-2000:]
    print(tail)  # the summary: phases, warnings, the number of generated cases
    generated = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert generated and generated.group(1) == generated.group(2), tail
    assert json.loads(report.read_text())["exit_code"] == 0
    return run.stdout, int(generated.group(1))


def _client_token(app) -> str:
    """An API client's access token for the operations only a client may call (its webhooks)."""
    with app.app_context():
        made = api_clients.create_client("schemathesis", ["webhooks.manage", "polls.read", "appointments.read"])
        token = api_clients.issue_token("client_credentials", made.client_id, made.client_secret, None).access_token
        db.session.commit()
        return token


def test_schemathesis_finds_no_failure_in_any_operation(live_server, tmp_path: Path):
    document = f"{live_server.url}/api/v1/openapi.json"
    # a staff member's token for everything but the webhooks (an API client's own), then a client's token
    output, generated = _schemathesis(document, _seed(live_server.app), tmp_path / "staff.json",
                                      "--exclude-path-regex", "/webhooks")
    assert generated >= 1000
    assert re.search(r"Tested: 36\b", output), output[-3000:]
    output, generated = _schemathesis(document, _client_token(live_server.app), tmp_path / "client.json",
                                      "--include-path-regex", "/webhooks")
    assert generated >= 100
    assert re.search(r"Tested: 8\b", output), output[-3000:]
