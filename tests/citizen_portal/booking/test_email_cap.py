"""Issue 18.3: the per-address cap was bypassed by 7 of 10 spellings of one mailbox (plus tags,
provider dots, look-alike Unicode, ``a,b@``, comments). Every spelling that reaches the same mailbox
now counts as that address; everything that is not one plain address is refused with a field
message and changes nothing. Through the JSON API and the HTML form, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from citizen_portal.booking.models import Appointment
from citizen_portal.core.addresses import AddressProblem, normalised_email, plain_address
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import site_timezone
from tests.citizen_portal.booking.factories import make_setup
from tests.factories import not_a_holiday

FIRST = "erika.mustermann@gmail.com"
# spellings of FIRST's mailbox: each must hit the cap (409 limit_reached)
SAME_MAILBOX = [
    "Erika.Mustermann@GMAIL.com",            # case
    "erika.mustermann+termin@gmail.com",     # plus tag
    "erikamustermann@gmail.com",             # provider dots
    "e.r.i.k.a.mustermann@googlemail.com",   # dots and the provider's other domain
    "ｅｒｉｋａ.ｍｕｓｔｅｒｍａｎｎ@gmail.com",  # full-width letters (NFKC)
    "erika.mustermann@gmail.com.",           # trailing dot of the domain
]
# not one plain address: each is refused (400, field "email")
NOT_PLAIN = [
    "erikа.mustermann@gmail.com",                       # Cyrillic "а" among Latin letters
    "erika.mustermann@gmail.com,other@example.org",     # two recipients
    "erika.mustermann,other@gmail.com",                 # "a,b@"
    "erika.mustermann(kommentar)@gmail.com",            # comment
    '"erika.mustermann"@gmail.com',                     # quoted string
    "Erika <erika.mustermann@gmail.com>",               # display name
]


def day_ahead(days: int) -> date:
    return not_a_holiday(date.today() + timedelta(days=days))


def start_at(days: int, hour: int = 9) -> datetime:
    return datetime.combine(day_ahead(days), time(hour), tzinfo=site_timezone())


@pytest.fixture
def setup(app):
    location, service, _ = make_setup(staff_count=2, holidays=None, service_kw={"max_active_per_email": 1})
    return location, service


def body(setup, email: str, start: datetime) -> dict:
    location, service = setup
    return {"service": service.key, "location": location.key, "start": start.isoformat(), "name": "Erika",
            "email": email, "privacy_consent": True}


def appointments() -> int:
    return db.session.scalar(select(func.count(Appointment.id)))


def test_every_spelling_of_one_mailbox_counts_once(client, setup):
    assert client.post("/api/v1/appointments", json=body(setup, FIRST, start_at(3))).status_code == 201
    for index, email in enumerate(SAME_MAILBOX):
        response = client.post("/api/v1/appointments", json=body(setup, email, start_at(4 + index)))
        assert response.status_code == 409 and response.json["error"] == "limit_reached", email
    assert appointments() == 1


def test_what_is_not_one_plain_address_is_refused(client, setup):
    for index, email in enumerate(NOT_PLAIN):
        response = client.post("/api/v1/appointments", json=body(setup, email, start_at(3 + index)))
        assert response.status_code == 400 and "email" in response.json["fields"], email
        assert response.json["fields"]["email"].startswith(("Bitte", "Diese")), email
    assert appointments() == 0


def test_the_form_refuses_and_caps_alike(client, setup):
    location, service = setup
    url = f"/termine/{service.key}/{location.key}/buchen"
    form = {"name": "Erika", "privacy_consent": "1"}
    first = start_at(3)
    assert client.post(url, data={**form, "email": FIRST, "start": first.isoformat()},
                       query_string={"start": first.isoformat()}).status_code == 303
    again = start_at(4)
    capped = client.post(url, data={**form, "email": "Erika.Mustermann+x@googlemail.com", "start": again.isoformat()},
                         query_string={"start": again.isoformat()})
    assert capped.status_code == 409 and "bereits einen Termin" in capped.get_data(as_text=True)
    refused = client.post(url, data={**form, "email": "a,b@example.org", "start": again.isoformat()},
                          query_string={"start": again.isoformat()})
    assert refused.status_code == 400 and 'href="#field-email"' in refused.get_data(as_text=True)
    assert appointments() == 1


def test_normalised_key_and_plain_address(app):
    assert normalised_email("E.Rika+x@GoogleMail.com") == "erika@gmail.com"
    assert normalised_email("Erika+x@Example.ORG.") == "erika@example.org"
    assert normalised_email("erika.m@example.org") == "erika.m@example.org"  # dots count elsewhere
    assert plain_address("Erika@Bücher.de") == "Erika@xn--bcher-kva.de"  # delivered as typed, IDNA domain
    assert normalised_email("erika@BÜCHER.de") == normalised_email("Erika@xn--bcher-kva.de")
    for text in [*NOT_PLAIN, "erika@exаmple.org", "erika@@example.org", "erika@", "@example.org",
                             "erika..m@example.org", "erika@example", "erika\u200b@example.org"]:
        with pytest.raises(AddressProblem):
            plain_address(text)
