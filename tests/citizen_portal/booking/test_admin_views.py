"""The service_admin pages: opening hours and closures, services, qualifications, working hours."""

from __future__ import annotations

import pytest
from flask import g

from citizen_portal.booking.schemas import LocationHours, parse_intervals
from citizen_portal.core.calendar_days import WEEKDAYS
from citizen_portal.core.errors import Invalid
from citizen_portal.core.extensions import db
from citizen_portal.core.schemas import parse
from tests.factories import log_in_session, make_location, make_service, make_staff, make_user


def login_as(client, user) -> None:
    """Log ``user`` in through the session cookie (the ``app`` fixture's app context is shared by
    every request of the test, so flask-login's cached user on ``g`` is dropped as well)."""
    with client.session_transaction() as session:
        log_in_session(session, user)
    g.pop("_login_user", None)


@pytest.fixture
def setup(app):
    location = make_location("buergeramt", {"de": "Bürgeramt Mitte", "en": "Citizens' Office Centre"})
    other = make_location("standesamt", {"de": "Standesamt", "en": "Registry Office"})
    service = make_service("ausweis", {"de": "Personalausweis", "en": "Identity card"}, locations=[location])
    member = make_staff("mmeier", "Maria Meier", locations=[location], services=[service])
    return {"location": location, "other": other, "service": service, "member": member}


def test_requires_login_and_role(app, client, setup):
    response = client.get("/verwaltung/termine/")
    assert response.status_code in (302, 401)
    login_as(client, make_user("clerk", roles="staff"))
    assert client.get("/verwaltung/termine/").status_code == 403


def test_overview_lists_everything(app, client, setup):
    login_as(client, make_user("boss", roles="service_admin"))
    page = client.get("/verwaltung/termine/").get_data(as_text=True)
    assert "Bürgeramt Mitte" in page and "Personalausweis" in page and "Maria Meier" in page
    assert "flask site load" in page


def test_edit_opening_hours_and_closures(app, client, setup):
    login_as(client, make_user("boss", roles="service_admin"))
    form = {f"hours.{day}": "" for day in WEEKDAYS}
    form.update({"hours.mon": "13:00-16:00, 08:00-12:00", "hours.sat": "09:00-12:00",
                 "closures": "2026-12-24\n2026-12-31\n2026-12-24"})
    response = client.post("/verwaltung/termine/standorte/buergeramt", data=form)
    assert response.status_code == 303
    location = setup["location"]
    db.session.refresh(location)
    assert location.opening_hours == {"mon": ["08:00-12:00", "13:00-16:00"], "sat": ["09:00-12:00"]}
    assert location.closures == ["2026-12-24", "2026-12-31"]


@pytest.mark.parametrize(("language", "expected"), [("de", "ohne Überschneidung"), ("en", "without overlap")])
def test_invalid_hours_rerender_with_summary(app, client, setup, language, expected):
    login_as(client, make_user("boss", roles="service_admin"))
    client.set_cookie("lang", language)
    form = {"hours.mon": "08:00-12:00, 11:00-13:00", "hours.tue": "25:00-26:00", "closures": "24.12.2026"}
    response = client.post("/verwaltung/termine/standorte/buergeramt", data=form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'href="#field-hours-mon"' in page and 'href="#field-hours-tue"' in page
    assert 'href="#field-closures"' in page
    assert 'aria-describedby="field-hours-mon-error"' in page
    assert expected in page
    db.session.refresh(setup["location"])
    assert setup["location"].opening_hours["mon"] == ["08:00-16:00"]


def test_edit_service(app, client, setup):
    login_as(client, make_user("boss", roles="service_admin"))
    form = {"name_de": "Personalausweis beantragen", "name_en": "Apply for an ID card",
            "description_de": "Neuer Ausweis", "description_en": "New card",
            "documents_de": "Foto\nAlter Ausweis\n", "documents_en": "Photo\nOld card",
            "duration_minutes": "20", "buffer_minutes": "5", "min_lead_hours": "4", "horizon_days": "30",
            "max_active_per_email": "2", "email_confirmation": "1", "active": "1",
            "locations": [str(setup["location"].id), str(setup["other"].id)]}
    assert client.post("/verwaltung/termine/leistungen/ausweis", data=form).status_code == 303
    service = setup["service"]
    db.session.refresh(service)
    assert service.name == {"de": "Personalausweis beantragen", "en": "Apply for an ID card"}
    assert service.documents == {"de": ["Foto", "Alter Ausweis"], "en": ["Photo", "Old card"]}
    assert (service.duration_minutes, service.buffer_minutes, service.min_lead_hours, service.horizon_days,
            service.max_active_per_email, service.email_confirmation) == (20, 5, 4, 30, 2, True)
    assert {location.key for location in service.locations} == {"buergeramt", "standesamt"}


def test_invalid_service_keeps_input(app, client, setup):
    login_as(client, make_user("boss", roles="service_admin"))
    form = {"name_de": "", "name_en": "ID", "duration_minutes": "1000", "buffer_minutes": "0",
            "min_lead_hours": "2", "horizon_days": "60", "max_active_per_email": "1"}
    response = client.post("/verwaltung/termine/leistungen/ausweis", data=form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'href="#field-name-de"' in page and 'href="#field-duration-minutes"' in page
    assert 'value="1000"' in page
    db.session.refresh(setup["service"])
    assert setup["service"].duration_minutes == 15


def test_edit_staff_qualifications_and_hours(app, client, setup):
    login_as(client, make_user("boss", roles="admin"))
    form = {"services": [str(setup["service"].id)], "locations": [str(setup["other"].id)],
            "hours.tue": "09:00-11:00"}
    assert client.post("/verwaltung/termine/mitarbeitende/mmeier", data=form).status_code == 303
    member = setup["member"]
    db.session.refresh(member)
    assert [location.key for location in member.locations] == ["standesamt"]
    assert member.working_hours == {"tue": ["09:00-11:00"]}
    # all days empty: back to the location's opening hours
    assert client.post("/verwaltung/termine/mitarbeitende/mmeier", data={"services": []}).status_code == 303
    db.session.refresh(member)
    assert member.working_hours is None and member.services == []


def test_parse_intervals_rules(app):
    assert parse_intervals("8:00-9:00") == ["08:00-09:00"]
    assert parse_intervals("") == []
    for bad in ("12:00-08:00", "08:00-12:00, 11:00-13:00", "8-12", "08:00-24:30"):
        with pytest.raises(ValueError):
            parse_intervals(bad)
    with app.test_request_context(), pytest.raises(Invalid) as caught:
        parse(LocationHours, {"closures": "2026-02-30"})
    assert set(caught.value.fields) == {"closures"}


def test_unknown_keys_are_404(app, client, setup):
    login_as(client, make_user("boss", roles="service_admin"))
    assert client.get("/verwaltung/termine/leistungen/nope").status_code == 404


def test_service_form_writes_its_extra_attributes_as_markup(app, client, setup):
    """The English name field is marked lang="en" and number fields carry their bounds."""
    login_as(client, make_user("boss", roles="service_admin"))
    page = client.get("/verwaltung/termine/leistungen/ausweis").get_data(as_text=True)
    assert ' lang="en"' in page and 'min="5" max="480"' in page
    assert "&#34;" not in page
