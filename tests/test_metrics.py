"""``/metrics``: Prometheus text that parses, counters that move, gauges from the database, and a page
nobody else can see (404)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from citizen_portal.booking.models import NO_SHOW, Appointment
from citizen_portal.booking.services import manage
from citizen_portal.core import job_leases, metrics
from citizen_portal.core.extensions import db
from citizen_portal.core.models import QueuedMail
from tests.citizen_portal.booking.factories import make_setup
from tests.factories import not_a_holiday

BERLIN = ZoneInfo("Europe/Berlin")
ALLOWED = {"METRICS_ALLOW": "127.0.0.1"}


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.status_code
    assert answer.content_type.startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def allowed(app, monkeypatch):
    for key, setting in ALLOWED.items():
        monkeypatch.setitem(app.config, key, setting)


def test_nobody_may_read_it_by_default(app, client):
    assert client.get("/metrics").status_code == 404


def test_allow_list_and_token(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_ALLOW", "10.0.0.0/8, ::1")
    assert client.get("/metrics").status_code == 404  # the test client comes from 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "s3cret-scraper-token")
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-scraper-token"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "s3cret-scraper-token"}).status_code == 404


def test_a_bad_allow_list_stops_the_start(fresh_database_url, tmp_path):
    from tests.factories import build_app

    with pytest.raises(ValueError):
        build_app(fresh_database_url, tmp_path, METRICS_ALLOW="everyone")


def test_counters_move_after_booking_cancelling_and_a_no_show(app, client, allowed):
    location, service, _ = make_setup(holidays=None)
    day = not_a_holiday(date.today() + timedelta(days=3), None)
    before = scrape(client)

    def book(hour: int) -> dict:
        start = datetime.combine(day, time(hour), tzinfo=BERLIN).isoformat()
        answer = client.post("/api/v1/appointments", json={
            "service": service.key, "location": location.key, "start": start, "name": "Erika Mustermann",
            "email": f"erika{hour}@example.org", "privacy_consent": True})
        assert answer.status_code == 201, answer.json
        return answer.json

    first, second = book(9), book(10)
    cancelled = client.delete(f"/api/v1/appointments/{first['code']}",
                              headers={"Authorization": f"Bearer {first['manage_token']}"})
    assert cancelled.status_code == 200
    appointment_id = db.session.scalar(select(Appointment.id).where(Appointment.code == second["code"]))
    manage.set_attendance(appointment_id, NO_SHOW)
    manage.set_attendance(appointment_id, NO_SHOW)  # marked twice: one no-show
    after = scrape(client)
    assert value(after, "portal_bookings_total", state="confirmed") - \
        value(before, "portal_bookings_total", state="confirmed") == 2
    assert value(after, "portal_cancellations_total") - value(before, "portal_cancellations_total") == 1
    assert value(after, "portal_no_shows_total") - value(before, "portal_no_shows_total") == 1
    # latency by route pattern, never the concrete path (it names the appointment's code)
    route = "/api/v1/appointments/<code>"
    assert value(after, "portal_http_request_duration_seconds_count", method="DELETE", route=route,
                 status="200") >= 1
    assert not [key for key in after if any(first["code"] in str(v) for _, v in key[1])]


def test_gauges_read_the_database_at_scrape_time(app, client, allowed):
    old = datetime.now(UTC) - timedelta(minutes=10)
    db.session.add(QueuedMail(kind="test", message=b"x", state="pending", next_attempt_at=old, created_at=old))
    db.session.commit()
    job_leases.ensure_rows(["test-job"])
    job_leases.record_outcome("test-job", ok=True, now=datetime(2026, 3, 2, 9, tzinfo=UTC))
    samples = scrape(client)
    assert value(samples, "portal_outbox_backlog", outbox="mail") == 1
    assert 600 <= value(samples, "portal_outbox_oldest_age_seconds", outbox="mail") < 3600
    assert value(samples, "portal_outbox_backlog", outbox="calendar") == 0
    assert value(samples, "portal_outbox_oldest_age_seconds", outbox="calendar") == 0
    assert value(samples, "portal_job_last_success_timestamp_seconds", job="test-job") == \
        datetime(2026, 3, 2, 9, tzinfo=UTC).timestamp()


def test_calendar_gauges_per_calendar(app, client, allowed, caldav_server):
    from staff_calendar.calendars import mirror
    from tests.fixtures.caldav_servers import link_calendar

    link, _ = link_calendar(caldav_server)
    samples = scrape(client)
    assert value(samples, "portal_calendar_sync_failing", calendar=link.key) == 1  # never synced
    assert mirror.sync_calendar(link.key).ok
    samples = scrape(client)
    assert value(samples, "portal_calendar_sync_failing", calendar=link.key) == 0
    assert 0 <= value(samples, "portal_calendar_sync_lag_seconds", calendar=link.key) < 60


def test_a_failing_gauge_leaves_out_only_itself(app, client, allowed):
    def broken() -> dict:
        raise RuntimeError("database away")

    metrics.register_gauge(app, "portal_test_broken", "test", broken)
    try:
        samples = scrape(client)
    finally:
        app.extensions["metrics_gauges"].pop("portal_test_broken")
    assert ("portal_outbox_backlog", (("outbox", "mail"),)) in samples
    assert not [key for key in samples if key[0] == "portal_test_broken"]


def test_the_grafana_dashboard_asks_for_metrics_the_page_has(app, client, allowed):
    import json
    import re
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parents[1] / "deploy" / "grafana-dashboard.json").read_text())
    asked = {name for panel in dashboard["panels"] for target in panel["targets"]
             for name in re.findall(r"portal_[a-z_]+", target["expr"])}
    make_setup(holidays=None)
    client.get("/api/v1/services")
    metrics.counter("portal_bookings_total", "").labels("confirmed")  # a series exists before the first booking
    answer = client.get("/metrics").get_data(as_text=True)
    offered = {sample.name for family in text_string_to_metric_families(answer) for sample in family.samples}
    offered |= set(re.findall(r"^# TYPE (\S+) gauge", answer, re.M))  # gauges with no series yet
    assert asked and asked <= offered, asked - offered
