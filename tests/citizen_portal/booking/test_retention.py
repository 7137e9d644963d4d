"""Erasure of personal data after erase_after_days; anonymous statistics stay. Jobs registered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from citizen_portal.booking import services
from citizen_portal.booking.models import CONFIRMED, EXPIRED, PENDING
from citizen_portal.core.extensions import db
from citizen_portal.core.jobs import registered_jobs
from tests.citizen_portal.booking.factories import make_appointment, make_setup

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def test_erasure_after_retention_keeps_statistics(app):
    location, service, [member] = make_setup(site_kw={"erase_after_days": 30})
    old = make_appointment(service, location, member, NOW - timedelta(days=31), phone="0711 123",
                           note="Rollstuhl", email_hash="h" * 64, manage_token_hash="m" * 64, token_nonce="n")
    recent = make_appointment(service, location, member, NOW - timedelta(days=29))
    assert services.erase_personal_data(now=NOW) == 1
    db.session.refresh(old)
    db.session.refresh(recent)
    for field in ("name", "email", "phone", "note", "email_hash", "manage_token_hash", "token_nonce"):
        assert getattr(old, field) is None, field
    assert old.erased_at == NOW
    assert (old.service_id, old.location_id, old.status) == (service.id, location.id, CONFIRMED)
    assert old.start_at == NOW - timedelta(days=31)
    assert recent.name is not None and recent.erased_at is None
    assert services.erase_personal_data(now=NOW) == 0


def test_expired_holds_are_erased_after_a_day(app):
    location, service, [member] = make_setup()
    hold = make_appointment(service, location, member, NOW + timedelta(days=5), status=EXPIRED,
                            hold_expires_at=NOW - timedelta(days=2))
    live = make_appointment(service, location, member, NOW + timedelta(days=6), status=PENDING,
                            hold_expires_at=NOW + timedelta(minutes=5))
    services.erase_personal_data(now=NOW)
    db.session.refresh(hold)
    db.session.refresh(live)
    assert hold.email is None and live.email is not None


def test_jobs_are_registered(app):
    names = {job.name for job in registered_jobs(app)}
    assert {"booking.expire_holds", "booking.send_reminders", "booking.erase_personal_data"} <= names


def test_no_personal_data_in_logs(app, caplog):
    from datetime import date, time
    from zoneinfo import ZoneInfo

    location, service, _ = make_setup(holidays=None)
    start = datetime.combine(date.today() + timedelta(days=3), time(9), tzinfo=ZoneInfo("Europe/Berlin"))
    caplog.set_level("DEBUG")
    client = app.test_client()
    answer = client.post("/api/v1/appointments", json={
        "service": service.key, "location": location.key, "start": start.isoformat(), "name": "Erika Geheim",
        "email": "geheim@example.org", "privacy_consent": True})
    data = answer.json
    client.get(f"/api/v1/appointments/{data['code']}", headers={"Authorization": f"Bearer {data['manage_token']}"})
    logged = caplog.text
    for secret in ("Erika Geheim", "geheim@example.org", data["code"], data["manage_token"]):
        assert secret not in logged
