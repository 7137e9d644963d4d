"""The staff "Heute / Today" page: own appointments of a day, mark arrived / no-show."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from html import unescape

import pytest
from flask import g

from citizen_portal.booking.models import ARRIVED, CANCELLED, CONFIRMED, NO_SHOW, Appointment
from citizen_portal.booking.services import staff_day
from citizen_portal.core.errors import Conflict, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import site_timezone
from tests.factories import log_in_session, make_location, make_service, make_staff, make_user


def login_as(client, user) -> None:
    with client.session_transaction() as session:
        log_in_session(session, user)
    g.pop("_login_user", None)


_codes = iter(f"T{n:02d}-XYZ" for n in range(100))


def appointment(service, location, staff, start: datetime, status: str = CONFIRMED, name: str = "Erika") -> Appointment:
    end = start + timedelta(minutes=15)
    item = Appointment(code=next(_codes), service_id=service.id, location_id=location.id, staff_id=staff.id,
                       start_at=start, end_at=end, blocked_until=end,
                       status=status, name=name, email="e@example.org", phone="0711 123", note="Rollstuhl")
    db.session.add(item)
    db.session.commit()
    return item


@pytest.fixture
def setup(app):
    location = make_location("buergeramt", {"de": "Bürgeramt Mitte", "en": "Citizens' Office"})
    service = make_service("ausweis", {"de": "Personalausweis", "en": "Identity card"}, locations=[location])
    mine = make_staff("mmeier", "Maria Meier", locations=[location], services=[service])
    other = make_staff("kkraus", "Karl Kraus", locations=[location], services=[service])
    now = datetime.now(UTC)
    started = appointment(service, location, mine, now - timedelta(hours=2), name="Anna Arm")
    later = appointment(service, location, mine, now + timedelta(days=2), name="Bernd Bauer")
    foreign = appointment(service, location, other, now - timedelta(hours=2), name="Carla Clausen")
    gone = appointment(service, location, mine, now - timedelta(hours=2, minutes=30), status=CANCELLED,
                       name="Dora Dreher")
    return {"service": service, "location": location, "mine": mine, "started": started, "later": later,
            "foreign": foreign, "gone": gone, "user": make_user("mmeier", roles="staff")}


def local_day(moment: datetime):
    return moment.astimezone(site_timezone()).date()


def test_lists_only_own_active_appointments_of_the_day(client, setup):
    login_as(client, setup["user"])
    day = local_day(setup["started"].start_at)
    response = client.get(f"/mitarbeitende/heute?tag={day.isoformat()}")
    assert response.status_code == 200
    page = unescape(response.get_data(as_text=True))
    assert "Anna Arm" in page and "Rollstuhl" in page and setup["started"].code in page
    assert "Carla Clausen" not in page and "Dora Dreher" not in page and "Bernd Bauer" not in page
    # cards, not a wide table (issue 17.5): a list of appointments, each with its facts as a description list
    assert '<ol class="staff-cards"' in page and "<dl" in page and "<table" not in page


def test_requires_staff_login(client, setup):
    assert client.get("/mitarbeitende/heute").status_code in (302, 401)


def test_user_without_staff_profile(client, setup):
    login_as(client, make_user("nobody", roles="staff"))
    page = unescape(client.get("/mitarbeitende/heute").get_data(as_text=True))
    assert "kein Mitarbeitendenprofil" in page


def test_mark_arrived_no_show_and_reset(client, setup):
    login_as(client, setup["user"])
    item = setup["started"]
    day = local_day(item.start_at).isoformat()
    response = client.post(f"/mitarbeitende/heute/{item.id}?tag={day}", data={"action": "arrived"})
    assert response.status_code == 303
    db.session.refresh(item)
    assert item.status == ARRIVED and item.checked_in_at is not None
    client.post(f"/mitarbeitende/heute/{item.id}?tag={day}", data={"action": "no_show"})
    db.session.refresh(item)
    assert item.status == NO_SHOW
    client.post(f"/mitarbeitende/heute/{item.id}?tag={day}", data={"action": "reset"})
    db.session.refresh(item)
    assert item.status == CONFIRMED


def test_cannot_mark_someone_elses_or_a_later_appointment(client, setup):
    """Issue 18.12: someone else's appointment answers exactly like an id that does not exist
    (it was 403 against 404, which told a stranger which booking ids exist)."""
    login_as(client, setup["user"])
    foreign = client.post(f"/mitarbeitende/heute/{setup['foreign'].id}", data={"action": "arrived"})
    missing = client.post("/mitarbeitende/heute/987654321", data={"action": "arrived"})
    assert foreign.status_code == missing.status_code == 404
    # the same page, but for the id in its own URL (language switch, the form's "next") and the CSRF token
    def page(response, appointment_id) -> str:
        return re.sub(r'value="[^"]*"', "", response.get_data(as_text=True)).replace(f"/{appointment_id}", "/ID")

    assert page(foreign, setup["foreign"].id) == page(missing, 987654321)
    db.session.refresh(setup["foreign"])
    assert setup["foreign"].status == CONFIRMED
    response = client.post(f"/mitarbeitende/heute/{setup['later'].id}", data={"action": "arrived"},
                           follow_redirects=True)
    assert "späterer Tage" in unescape(response.get_data(as_text=True))
    db.session.refresh(setup["later"])
    assert setup["later"].status == CONFIRMED


def test_rules_in_the_service(setup):
    zone = site_timezone()  # noon of today: "a minute later" is never tomorrow (at 23:59 it was)
    now = datetime.combine(datetime.now(zone).date(), time(12), tzinfo=zone).astimezone(UTC)
    with pytest.raises(NotFound):
        staff_day.mark("mmeier", setup["foreign"].id, "arrived", now=now)
    # an admin may mark anyone's
    assert staff_day.mark("admin", setup["foreign"].id, "arrived", any_staff=True, now=now).status == ARRIVED
    # no-show only after the start
    soon = appointment(setup["service"], setup["location"], setup["mine"], now + timedelta(minutes=1))
    with pytest.raises(Conflict):
        staff_day.mark("mmeier", soon.id, "no_show", now=now)
    assert staff_day.mark("mmeier", soon.id, "arrived", now=now).status == ARRIVED


def test_day_bounds_on_dst_change(app):
    from datetime import date

    start, end = staff_day.day_bounds(date(2026, 10, 25))
    assert end - start == timedelta(hours=25)


def test_the_page_offers_only_the_actions_the_service_accepts(client, setup):
    """Issue 9: a later day's appointment had buttons that answered "Termine späterer Tage können noch
    nicht markiert werden"; now the page offers exactly ``allowed_actions``, the checks of ``mark``."""
    login_as(client, setup["user"])
    later = setup["later"]
    page = client.get(f"/mitarbeitende/heute?tag={local_day(later.start_at).isoformat()}").get_data(as_text=True)
    assert "Bernd Bauer" in unescape(page) and 'name="action"' not in page
    started = setup["started"]
    page = client.get(f"/mitarbeitende/heute?tag={local_day(started.start_at).isoformat()}").get_data(as_text=True)
    assert 'value="arrived"' in page and 'value="no_show"' in page and 'value="reset"' not in page


def test_allowed_actions_follow_the_clock(setup):
    from datetime import date, time

    zone = site_timezone()
    start = datetime.combine(date(2026, 11, 25), time(10, 0), tzinfo=zone)
    item = appointment(setup["service"], setup["location"], setup["mine"], start)
    moments = {
        datetime.combine(date(2026, 11, 24), time(16, 0), tzinfo=zone): (),
        datetime.combine(date(2026, 11, 25), time(9, 0), tzinfo=zone): ("arrived",),
        datetime.combine(date(2026, 11, 25), time(10, 30), tzinfo=zone): ("arrived", "no_show"),
    }
    for now, expected in moments.items():
        assert staff_day.allowed_actions(item, now=now) == expected, now
        for action in ("arrived", "no_show"):
            if action not in expected:
                with pytest.raises(Conflict):
                    staff_day.mark("mmeier", item.id, action, now=now)
    staff_day.mark("mmeier", item.id, "no_show", now=start + timedelta(minutes=30))
    assert staff_day.allowed_actions(item, now=start + timedelta(minutes=30)) == ("arrived", "reset")
    item.status = "pending_confirmation"
    assert staff_day.allowed_actions(item, now=start) == ()
