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


def test_request_id_echoed_and_in_every_line_of_the_request(app, client, caplog):
    caplog.set_level(logging.INFO)
    answer = client.get("/impressum", headers={"X-Request-ID": "proxy-7f3a.42_x"})
    assert answer.headers["X-Request-ID"] == "proxy-7f3a.42_x"
    [line] = [record for record in caplog.records if record.name == "portal.request"]
    assert line.request_id == "proxy-7f3a.42_x"
    for insane in ("m.mueller@example.org", "two words", "x" * 65, ""):
        generated = client.get("/impressum", headers={"X-Request-ID": insane}).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", generated), generated
    first = client.get("/impressum").headers["X-Request-ID"]
    assert first != client.get("/impressum").headers["X-Request-ID"]
    refused = client.get("/nirgendwo", headers={"X-Request-ID": "rid-404"})
    assert refused.status_code == 404 and refused.headers["X-Request-ID"] == "rid-404"


def test_the_worker_delivers_a_mail_under_the_id_of_the_request_that_queued_it(app, client, caplog, smtp_sink):
    from datetime import date, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from citizen_portal.core import mail
    from citizen_portal.core.extensions import db
    from citizen_portal.core.models import QueuedMail
    from tests.citizen_portal.booking.factories import make_setup
    from tests.factories import not_a_holiday
    from tests.fixtures.database import free_port

    location, service, _ = make_setup(holidays=None)
    day = not_a_holiday(date.today() + timedelta(days=3), None)
    relay = app.config["MAIL_SMTP_PORT"]
    app.config["MAIL_SMTP_PORT"] = free_port()  # the relay is away while the citizen books
    start = datetime.combine(day, time(9), tzinfo=ZoneInfo("Europe/Berlin")).isoformat()
    answer = client.post("/api/v1/appointments", headers={"X-Request-ID": "booking-req-1"}, json={
        "service": service.key, "location": location.key, "start": start, "name": "Erika Mustermann",
        "email": "erika@example.org", "privacy_consent": True})
    assert answer.status_code == 201 and answer.headers["X-Request-ID"] == "booking-req-1"
    row = db.session.scalar(select(QueuedMail).where(QueuedMail.state == "pending"))
    assert row.request_id == "booking-req-1"
    db.session.execute(QueuedMail.__table__.update().values(next_attempt_at=row.created_at))
    db.session.commit()
    app.config["MAIL_SMTP_PORT"] = relay
    caplog.clear()
    caplog.set_level(logging.INFO)
    assert mail.deliver_mail_outbox() == "1 sent, 0 waiting"
    [sent] = [record for record in caplog.records if record.getMessage().startswith("mail sent")]
    assert sent.request_id == "booking-req-1"
    assert smtp_sink.wait_for(1)


def test_calendar_outbox_rows_remember_the_request(app):
    from citizen_portal.core.logs import bound_request_id
    from staff_calendar.calendars import outbox

    with bound_request_id("calendar-req-9"):
        row = outbox.enqueue("staff:someone", "appointment-1@x", "upsert", {"summary": "T"})
    assert row.request_id == "calendar-req-9"
    due = outbox._due_rows(None, ignore_backoff=True)  # what drain() binds while it delivers the row
    assert (row.id, "staff:someone", "calendar-req-9") in due


def test_json_logs_of_a_worker_process_carry_the_request_id(fresh_database_url, tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from sqlalchemy import create_engine, insert

    from citizen_portal.core.models import QueuedMail

    engine = create_engine(fresh_database_url)
    with engine.begin() as connection:
        from datetime import UTC, datetime

        created = datetime(2026, 3, 2, 9, tzinfo=UTC)
        connection.execute(insert(QueuedMail.__table__).values(
            kind="booking_confirmation", message=b"From: a@example.org\r\nTo: b@example.org\r\n\r\nHallo\r\n",
            state="pending", attempts=0, next_attempt_at=created, created_at=created, request_id="req-json-1"))
    engine.dispose()
    env = {**os.environ, "PORTAL_DATABASE_URL": fresh_database_url, "PORTAL_INSTANCE_PATH": str(tmp_path),
           "PORTAL_SECRET_KEY": "test", "PORTAL_LOG_FORMAT": "json", "PORTAL_MAIL_SMTP_HOST": ""}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "citizen_portal.app:create_app", "worker", "--once"],
                          cwd=Path(__file__).resolve().parents[1], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    entries = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]  # every line is JSON
    [sent] = [entry for entry in entries if entry["message"] == "mail sent: booking_confirmation"]
    assert sent["request_id"] == "req-json-1" and sent["level"] == "INFO" and sent["time"].endswith("+00:00")
    assert all(entry["request_id"] for entry in entries)
