"""One log line per request (method, route pattern, status, duration) and no personal data."""

from __future__ import annotations

import logging
import re

from citizen_portal.core import api_tokens
from tests.factories import make_user

LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (.+) (\d{3}) \d+\.\dms$")


def _request_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "portal.request"]


def test_one_line_per_request_with_route_pattern(app, client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/impressum?name=Maria")
    client.get("/nirgendwo/m.mueller@example.org")
    lines = _request_lines(caplog)
    assert len(lines) == 2
    assert all(LINE.match(line) for line in lines), lines
    assert lines[0].startswith("GET /<any(impressum, datenschutz, barrierefreiheit):page> 200 ")
    assert lines[1].startswith("GET <unmatched> 404 ")


def test_no_personal_data_in_logs(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    make_user("mmueller", display_name="Maria Müller", email="m.mueller@musterhausen.example",
              password="geheim-123")
    token = api_tokens.create_api_token("mmueller", "Fachverfahren")
    client.post("/anmelden?email=m.mueller@musterhausen.example",
                data={"username": "mmueller", "password": "geheim-123", "next": "/?name=Maria+Müller"})
    client.post("/anmelden", data={"username": "mmueller", "password": "falsch-456"})
    client.get("/api/irgendwas", headers={"Authorization": f"Bearer {token}"})
    client.post("/abmelden")
    text = caplog.text
    for secret in ("mmueller", "Maria", "Müller", "m.mueller@", "geheim-123", "falsch-456", token):
        assert secret not in text, f"{secret!r} appears in the logs"
    assert len(_request_lines(caplog)) == 4
