"""The staff page of fair access (issue 15.3): login required; waiting-list length, offers by
outcome, windows with seed and results; the CSV has no personal data. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from citizen_portal.booking import services
from citizen_portal.booking.fairness import lottery, offers
from citizen_portal.core.extensions import db
from tests.citizen_portal.booking.fairness.helpers import NOW, book, join_confirmed, local
from tests.citizen_portal.booking.fairness.test_lottery import AFTER, ask, release_setup
from tests.factories import login, make_user


def test_staff_page_needs_login_and_shows_numbers_and_a_csv_without_personal_data(app, client, smtp_sink):
    location, service, window = release_setup()
    service.waiting_list = "always"
    db.session.commit()
    join_confirmed(service, "waiting.person@example.org")
    join_confirmed(service, "second.person@example.org")
    other = book(service, location, local(9, 0), email="other@example.org")
    services.cancel(other.appointment.code, other.manage_token, now=NOW)
    offers.expire_offers(now=NOW + timedelta(hours=2))  # the first offer expires, the second goes out
    ask(service, "lottery.person@example.org")
    lottery.draw(window.id, now=AFTER, seed="audit-seed")

    assert client.get(f"/mitarbeitende/warteliste/{service.key}").status_code in (302, 401, 403)
    assert client.get(f"/mitarbeitende/warteliste/{service.key}.csv").status_code in (302, 401, 403)
    make_user("sachbearbeiterin", roles="staff")
    login(client, "sachbearbeiterin")
    page = client.get(f"/mitarbeitende/warteliste/{service.key}")
    assert page.status_code == 200
    text = page.text
    assert 'id="waiting">2<' in text and 'id="offers-sent">2<' in text and 'id="offers-expired">1<' in text
    assert "audit-seed" in text and "@example.org" not in text
    export = client.get(f"/mitarbeitende/warteliste/{service.key}.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    csv = export.text
    assert csv.splitlines()[0].startswith("kind,id,time,status")
    assert "audit-seed" in csv and ",expired," in csv and ",open," in csv
    assert "@" not in csv and "person" not in csv
