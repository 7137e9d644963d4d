"""HTML and JSON parity: booking, moving and cancelling through the citizen's pages and through
``/api/v1`` go through the same schemas and services, so every scenario (valid input, each kind of
bad input, a taken time, a refused change) ends the same way with the same field messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from citizen_portal.booking import services as booking
from citizen_portal.booking.models import CANCELLED, CONFIRMED, Appointment, StaffMember
from citizen_portal.booking.services.codes import derive_manage_token
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import site_timezone
from citizen_portal.core.security import token_hash
from tests.citizen_portal.booking.factories import contact, make_appointment
from tests.factories import make_location, make_service, make_staff, not_a_holiday

VIA = pytest.mark.parametrize("via", ["html", "api"])
EVERY_DAY = {day: ["08:00-16:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
VALID = {"name": "Erika Mustermann", "email": "erika@example.org", "phone": "", "note": "", "privacy_consent": True}

NAME = "Bitte geben Sie Ihren Namen an."
EMAIL_MISSING = "Bitte geben Sie Ihre E-Mail-Adresse an."
EMAIL = "Bitte geben Sie eine E-Mail-Adresse wie name@beispiel.de an."
ONE_LINE = "Bitte ohne Zeilenumbruch angeben."
PHONE = "Bitte geben Sie eine Telefonnummer nur mit Ziffern, Leerzeichen und + ( ) / - an."
CONSENT = "Bitte bestätigen Sie, dass Sie die Datenschutzhinweise gelesen haben."
NOT_BOOKABLE = "Zu dieser Zeit kann dieser Termin nicht gebucht werden."
CHOOSE = "Bitte wählen Sie eine Uhrzeit."
RFC3339 = "Bitte eine Zeit nach RFC 3339 mit Zeitzone angeben."
UNKNOWN = "Unbekanntes Feld."
TAKEN = "Dieser Termin ist leider gerade vergeben worden. Bitte wählen Sie eine andere Zeit."


def the_day() -> date:
    """At least three days ahead (past the two hours of lead time at any hour) and no holiday."""
    return not_a_holiday(datetime.now(UTC).astimezone(site_timezone()).date() + timedelta(days=3))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=site_timezone())


@dataclass
class Outcome:
    """How a request ended, in terms both adapters share: ``done`` (booked, moved, cancelled),
    ``invalid`` (400 with field messages), ``conflict`` (409), ``not_found`` (404)."""

    kind: str
    fields: dict[str, str] = field(default_factory=dict)  # keyed by the form's field id: "field-privacy-consent"
    alternatives: list[datetime] = field(default_factory=list)
    text: str = ""  # the page, or the API's message

    def says(self, message: str) -> bool:
        return message in self.text


KINDS = {200: "done", 201: "done", 303: "done", 400: "invalid", 404: "not_found", 409: "conflict"}


def field_id(name: str) -> str:
    return "field-" + name.replace(".", "-").replace("_", "-")


def from_api(response) -> Outcome:
    body = response.json
    alternatives = [datetime.fromisoformat(item["start"]) for item in body.get("alternatives", [])]
    fields = {field_id(name): message for name, message in body.get("fields", {}).items()}
    return Outcome(KINDS[response.status_code], fields, alternatives, body.get("detail", ""))


def from_page(response) -> Outcome:
    """The error summary names every field with a problem; the inline error (without the label the
    summary puts in front) gives its message where the field is on the form."""
    page = unescape(response.get_data(as_text=True))
    summary = re.search(r'id="error-summary".*?</ul>', page, re.S)
    listed = re.findall(r'href="#(field-[^"]+)">([^<]*)</a>', summary.group(0)) if summary else []
    inline = dict(re.findall(r'id="(field-[^"]+)-error">.*?<span class="visually-hidden">[^<]*</span>([^<]*)</span>',
                             page, re.S))
    fields = {name: inline.get(name, text).strip() for name, text in listed}
    alternatives = [datetime.fromisoformat(value)
                    for value in re.findall(r'name="start" id="(?:alternative|time)-\d+" value="([^"]+)"', page)]
    return Outcome(KINDS[response.status_code], fields, alternatives if response.status_code == 409 else [], page)


@pytest.fixture
def office(app):
    location = make_location("buergeramt", {"de": "Bürgeramt Mitte", "en": "Citizens' Office Centre"},
                             opening_hours=EVERY_DAY)
    service = make_service("ausweis", {"de": "Personalausweis beantragen", "en": "Apply for an identity card"},
                           locations=[location], duration_minutes=30)
    make_staff("mmeier", "Maria Meier", locations=[location], services=[service])
    return {"location": location, "service": service, "day": the_day()}


def book(client, via: str, start: datetime, values: dict[str, Any], location: str = "buergeramt") -> Outcome:
    if via == "api":
        body = {"service": "ausweis", "location": location, "start": start.isoformat(), **values}
        return from_api(client.post("/api/v1/appointments", json=body))
    form = {key: value for key, value in values.items() if not isinstance(value, bool)}
    if values.get("privacy_consent") is True:
        form["privacy_consent"] = "1"
    form["start"] = start.isoformat()
    return from_page(client.post(f"/termine/ausweis/{location}/buchen?start={quote(start.isoformat())}", data=form))


@VIA
def test_valid_booking(client, office, via):
    outcome = book(client, via, at(office["day"], 10), {**VALID, "phone": "0711 123456"})
    assert outcome.kind == "done" and outcome.fields == {}
    appointment = db.session.scalars(select(Appointment)).one()
    assert (appointment.name, appointment.email, appointment.phone, appointment.note, appointment.status) == (
        "Erika Mustermann", "erika@example.org", "0711 123456", None, CONFIRMED)
    assert appointment.start_at == at(office["day"], 10).astimezone(UTC)


BAD_BOOKINGS = {
    "name missing": ({"name": ""}, {"name": NAME}),
    "name blank": ({"name": "   "}, {"name": NAME}),
    "name too long": ({"name": "x" * 201}, {"name": "Höchstens 200 Zeichen."}),
    "name on two lines": ({"name": "Erika\nMustermann"}, {"name": ONE_LINE}),
    "email missing": ({"email": ""}, {"email": EMAIL_MISSING}),
    "email malformed": ({"email": "erika@"}, {"email": EMAIL}),
    "email with a header": ({"email": "erika@example.org\r\nBcc: x@example.org"}, {"email": ONE_LINE}),
    "phone with letters": ({"phone": "call me"}, {"phone": PHONE}),
    "phone too long": ({"phone": "0" * 51}, {"phone": "Höchstens 50 Zeichen."}),
    "note too long": ({"note": "x" * 1001}, {"note": "Höchstens 1000 Zeichen."}),
    "note with a control character": ({"note": "a\x07b"}, {"note": "Der Text enthält unzulässige Steuerzeichen."}),
    "no consent": ({"privacy_consent": False}, {"privacy_consent": CONSENT}),
    "consent not a yes or no": ({"privacy_consent": "vielleicht"},
                                {"privacy_consent": "Bitte true oder false angeben."}),
    "several at once": ({"name": "", "email": "nope", "privacy_consent": False},
                        {"name": NAME, "email": EMAIL, "privacy_consent": CONSENT}),
    "an unknown field": ({"surprise": "1"}, {"surprise": UNKNOWN}),
}


@VIA
@pytest.mark.parametrize("case", BAD_BOOKINGS)
def test_bad_booking_input(client, office, via, case):
    changes, expected = BAD_BOOKINGS[case]
    outcome = book(client, via, at(office["day"], 10), {**VALID, **changes})
    assert outcome.kind == "invalid"
    assert outcome.fields == {field_id(name): message for name, message in expected.items()}
    assert db.session.scalar(select(Appointment.id)) is None


@VIA
@pytest.mark.parametrize("when", ["off the grid", "over"])
def test_a_time_that_cannot_be_booked(client, office, via, when):
    today = datetime.now(UTC).astimezone(site_timezone()).date()
    start = at(office["day"], 9, 10) if when == "off the grid" else at(today - timedelta(days=1), 10)
    outcome = book(client, via, start, VALID)
    assert (outcome.kind, outcome.fields) == ("invalid", {"field-start": NOT_BOOKABLE})
    assert db.session.scalar(select(Appointment.id)) is None


@VIA
def test_a_taken_time_offers_the_same_alternatives(client, office, via):
    day = office["day"]
    booking.book(booking.BookingRequest("ausweis", "buergeramt", at(day, 10), contact("Erster", "first@example.org")))
    outcome = book(client, via, at(day, 10), VALID)
    assert outcome.kind == "conflict" and outcome.says(TAKEN)
    assert outcome.alternatives[:3] == [at(day, 10, 30), at(day, 11), at(day, 11, 30)]
    assert len(outcome.alternatives) == 5
    assert db.session.scalar(select(Appointment.id).where(Appointment.email == "erika@example.org")) is None


@VIA
def test_the_limit_per_address_names_the_email_field(client, office, via):
    booking.book(booking.BookingRequest("ausweis", "buergeramt", at(office["day"], 11), contact()))
    outcome = book(client, via, at(office["day"], 10), VALID)
    assert outcome.kind == "conflict"
    assert outcome.fields == {"field-email": "Sie haben für diese Leistung bereits einen Termin. Bitte sagen "
                                             "Sie ihn ab, bevor Sie einen neuen buchen."}


@VIA
def test_a_location_that_does_not_offer_the_service(client, office, via):
    make_location("standesamt")
    outcome = book(client, via, at(office["day"], 10), VALID, location="standesamt")
    assert outcome.kind == "not_found" and outcome.says("Diese Leistung wird an diesem Standort nicht angeboten.")


# ---------------------------------------------------------------- move


@pytest.fixture
def booked(office):
    return booking.book(booking.BookingRequest("ausweis", "buergeramt", at(office["day"], 9), contact()))


def move(client, via: str, result, values: dict[str, Any], token: str | None = None) -> Outcome:
    code, token = result.appointment.code, token or result.manage_token
    if via == "api":
        return from_api(client.patch(f"/api/v1/appointments/{code}", json=values,
                                     headers={"Authorization": f"Bearer {token}"}))
    day = result.appointment.start_at.astimezone(site_timezone()).date()
    return from_page(client.post(f"/termine/verwalten/{code}/verschieben?token={token}&tag={day.isoformat()}",
                                 data=values))


@VIA
def test_valid_move(client, office, booked, via):
    outcome = move(client, via, booked, {"start": at(office["day"], 14).isoformat()})
    assert outcome.kind == "done"
    db.session.refresh(booked.appointment)
    assert booked.appointment.start_at == at(office["day"], 14).astimezone(UTC) and booked.appointment.sequence == 1


BAD_MOVES = {
    "no time": ({}, CHOOSE),
    "a blank time": ({"start": " "}, CHOOSE),
    "not a time": ({"start": "morgen"}, RFC3339),
    "no offset": ({"start": "2026-03-03T09:00:00"}, RFC3339),
    "an impossible date": ({"start": "2026-02-30T09:00:00+01:00"}, "Diese Zeit gibt es nicht."),
}


@VIA
@pytest.mark.parametrize("case", BAD_MOVES)
def test_bad_move_input(client, office, booked, via, case):
    values, message = BAD_MOVES[case]
    outcome = move(client, via, booked, values)
    assert (outcome.kind, outcome.fields) == ("invalid", {"field-start": message})
    db.session.refresh(booked.appointment)
    assert booked.appointment.start_at == at(office["day"], 9).astimezone(UTC)


@VIA
def test_move_with_an_unknown_field(client, office, booked, via):
    outcome = move(client, via, booked, {"start": at(office["day"], 14).isoformat(), "surprise": "1"})
    assert (outcome.kind, outcome.fields) == ("invalid", {"field-surprise": UNKNOWN})


@VIA
def test_move_off_the_grid(client, office, booked, via):
    outcome = move(client, via, booked, {"start": at(office["day"], 14, 10).isoformat()})
    assert (outcome.kind, outcome.fields) == ("invalid", {"field-start": NOT_BOOKABLE})


@VIA
def test_move_to_a_taken_time(client, office, booked, via):
    day = office["day"]
    booking.book(booking.BookingRequest("ausweis", "buergeramt", at(day, 14), contact("Zweite", "b@example.org")))
    outcome = move(client, via, booked, {"start": at(day, 14).isoformat()})
    assert outcome.kind == "conflict" and outcome.says(TAKEN)
    assert outcome.alternatives[:2] == [at(day, 14, 30), at(day, 15)]
    db.session.refresh(booked.appointment)
    assert booked.appointment.start_at == at(day, 9).astimezone(UTC)


@VIA
def test_a_cancelled_appointment_cannot_be_moved(client, office, booked, via):
    booking.cancel(booked.appointment.code, booked.manage_token)
    outcome = move(client, via, booked, {"start": at(office["day"], 14).isoformat()})
    assert outcome.kind == "conflict" and outcome.says("Dieser Termin kann nicht mehr verschoben werden.")


@VIA
def test_move_with_a_wrong_token(client, office, booked, via):
    outcome = move(client, via, booked, {"start": at(office["day"], 14).isoformat()}, token="falsch")
    assert outcome.kind == "not_found"


# ---------------------------------------------------------------- cancel


def cancel(client, via: str, code: str, token: str, values: dict[str, Any] | None = None) -> Outcome:
    if via == "api":
        return from_api(client.delete(f"/api/v1/appointments/{code}", json=values,
                                      headers={"Authorization": f"Bearer {token}"}))
    return from_page(client.post(f"/termine/verwalten/{code}/absagen?token={token}", data=values or {}))


@VIA
def test_cancel_and_cancel_again(client, booked, via):
    for _ in range(2):
        outcome = cancel(client, via, booked.appointment.code, booked.manage_token)
        assert outcome.kind == "done"
        db.session.refresh(booked.appointment)
        assert booked.appointment.status == CANCELLED


@VIA
def test_an_appointment_that_has_begun_cannot_be_cancelled(client, office, via):
    staff = db.session.scalars(select(StaffMember)).one()
    started = make_appointment(office["service"], office["location"], staff,
                               datetime.now(UTC) - timedelta(minutes=5), token_nonce="n" * 20)
    token = derive_manage_token(started.token_nonce)
    started.manage_token_hash = token_hash(token)
    db.session.commit()
    outcome = cancel(client, via, started.code, token)
    assert outcome.kind == "conflict" and outcome.says("Dieser Termin kann nicht mehr abgesagt werden.")
    db.session.refresh(started)
    assert started.status == CONFIRMED


@VIA
def test_cancel_with_a_wrong_token(client, booked, via):
    assert cancel(client, via, booked.appointment.code, "falsch").kind == "not_found"
    db.session.refresh(booked.appointment)
    assert booked.appointment.status == CONFIRMED


@VIA
def test_cancel_sends_nothing_else(client, booked, via):
    """Cancel takes no fields (the HTML page has none to show the message at: only the kind is compared)."""
    assert cancel(client, via, booked.appointment.code, booked.manage_token, {"reason": "x"}).kind == "invalid"
    db.session.refresh(booked.appointment)
    assert booked.appointment.status == CONFIRMED
