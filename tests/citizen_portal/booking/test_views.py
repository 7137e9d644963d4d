"""The citizen booking pages through the Flask client: every step, errors in German and English,
the 409 page with the next free times, holds, the manage page (cancel, move), CSRF, no JavaScript."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
from babel.dates import format_date
from sqlalchemy import select

from citizen_portal.booking import services as booking
from citizen_portal.booking.models import CANCELLED, CONFIRMED, PENDING, Appointment
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import site_timezone
from citizen_portal.core.models import SiteSettings
from tests.citizen_portal.booking.factories import contact
from tests.factories import make_location, make_service, make_staff, not_a_holiday

EVERY_DAY = {day: ["08:00-16:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def future_day(days: int = 3) -> date:
    """A day at least ``days`` ahead that is no public holiday (the location opens every day of the
    week, but not on holidays: Good Friday is four days after the Monday of a spring DST change)."""
    return not_a_holiday(datetime.now(UTC).astimezone(site_timezone()).date() + timedelta(days=days))


@pytest.fixture
def setup(app):
    location = make_location("buergeramt", {"de": "Bürgeramt Mitte", "en": "Citizens' Office Centre"},
                             opening_hours=EVERY_DAY, address="Marktplatz 1, 74523 Musterhausen")
    service = make_service(
        "ausweis", {"de": "Personalausweis beantragen", "en": "Apply for an identity card"},
        locations=[location], duration_minutes=30,
        description={"de": "Neuer Personalausweis.", "en": "A new identity card."},
        documents={"de": ["Biometrisches Foto"], "en": ["Biometric photo"]},
    )
    staff = make_staff("mmeier", "Maria Meier", locations=[location], services=[service])
    return {"location": location, "service": service, "staff": staff}


def slot_start(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=site_timezone())


def book_url(start: datetime) -> str:
    from urllib.parse import quote

    return f"/termine/ausweis/buergeramt/buchen?start={quote(start.isoformat())}"


VALID = {"name": "Erika Mustermann", "email": "erika@example.org", "phone": "", "note": "",
         "privacy_consent": "1"}


def test_services_page_shows_description_duration_documents(client, setup):
    page = text(client.get("/termine/"))
    assert "Personalausweis beantragen" in page and "Neuer Personalausweis." in page
    assert "30 Minuten" in page and "Biometrisches Foto" in page
    assert 'href="/termine/ausweis/"' in page
    assert "<script" not in page


def test_locations_page(client, setup):
    # one location: nothing to choose, straight to its days (and back from there to the services)
    single = client.get("/termine/ausweis/")
    assert single.status_code == 303 and single.headers["Location"].endswith("/termine/ausweis/buergeramt/")
    days = text(client.get("/termine/ausweis/buergeramt/"))
    assert 'href="/termine/"' in days and 'href="/termine/ausweis/"' not in days
    second = make_location("rathaus", {"de": "Rathaus", "en": "Town hall"}, opening_hours=EVERY_DAY)
    setup["service"].locations.append(second)
    db.session.commit()
    page = text(client.get("/termine/ausweis/"))
    assert "Bürgeramt Mitte" in page and "Marktplatz 1" in page and "Rathaus" in page
    assert 'href="/termine/ausweis/buergeramt/"' in page
    assert client.get("/termine/gibtsnicht/").status_code == 404


def test_days_page_lists_days_in_full_and_month_table(client, setup):
    day = future_day(3)
    response = client.get(f"/termine/ausweis/buergeramt/?monat={day:%Y-%m}")
    assert response.status_code == 200
    page = text(response)
    link = f'href="/termine/ausweis/buergeramt/{day.isoformat()}"'
    assert link in page
    # announced in full: weekday, date, number of free times (16 half hours from 08:00 to 16:00)
    weekday = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"][day.weekday()]
    assert re.search(rf"{weekday}, {day.day}\. \w+ {day.year}, 16 freie Termine", page)
    assert "Woche vom" in page
    assert "<caption" in page and 'scope="col"' in page and '<abbr title="Montag">' in page
    assert "<script" not in page


def test_days_page_in_english(client, setup):
    client.set_cookie("lang", "en")
    day = future_day(3)
    page = text(client.get(f"/termine/ausweis/buergeramt/?monat={day:%Y-%m}"))
    assert '<html lang="en">' in page
    assert f"{day:%A}, {day.day} {day:%B} {day.year}" in page  # en-GB: day before month
    assert "16 free times" in page


def test_times_page_links_each_time(client, setup):
    day = future_day(3)
    page = text(client.get(f"/termine/ausweis/buergeramt/{day.isoformat()}"))
    assert "09:00" in page and "15:30" in page
    links = re.findall(r'href="(/termine/ausweis/buergeramt/buchen\?start=[^"]+)"', page)
    assert len(links) == 16
    from urllib.parse import parse_qs, urlsplit

    first = parse_qs(urlsplit(links[0]).query)["start"][0]
    assert datetime.fromisoformat(first) == slot_start(day, 8)
    assert client.get("/termine/ausweis/buergeramt/kein-datum").status_code == 404


def test_form_get_has_autocomplete_and_privacy_link(client, setup):
    start = slot_start(future_day(3), 10)
    page = text(client.get(book_url(start)))
    assert 'autocomplete="name"' in page and 'autocomplete="email"' in page and 'autocomplete="tel"' in page
    assert 'href="/termine/datenschutz"' in page
    assert 'name="privacy_consent"' in page
    assert "<script" not in page  # captcha off in tests: no JavaScript at all


@pytest.mark.parametrize(("language", "expected"), [
    ("de", ["Bitte geben Sie Ihren Namen an.", "Bitte bestätigen Sie"]),
    ("en", ["Please enter your name.", "Please confirm"]),
])
def test_invalid_form_rerenders_with_summary(client, setup, language, expected):
    client.set_cookie("lang", language)
    start = slot_start(future_day(3), 10)
    response = client.post(book_url(start), data={"name": "", "email": "nope", "start": start.isoformat()})
    assert response.status_code == 400
    page = text(response)
    for message in expected:
        assert message in page
    assert 'href="#field-name"' in page and 'href="#field-email"' in page and 'href="#field-privacy-consent"' in page
    assert 'aria-describedby="field-name-error"' in page and 'aria-invalid="true"' in page
    assert 'value="nope"' in page  # input kept
    assert db.session.scalar(select(Appointment.id)) is None


def test_booking_redirects_to_confirmation_with_code(client, setup):
    start = slot_start(future_day(3), 10)
    response = client.post(book_url(start), data={**VALID, "start": start.isoformat()})
    assert response.status_code == 303
    appointment = db.session.scalars(select(Appointment)).one()
    assert appointment.status == CONFIRMED and appointment.start_at == start.astimezone(UTC)
    assert appointment.language == "de"
    page = client.get(response.headers["Location"])
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"
    body = text(page)
    assert appointment.code in body and "Ihr Termin ist gebucht" in body
    assert "Marktplatz 1" in body and "Biometrisches Foto" in body


def test_slot_taken_shows_next_free_times_and_keeps_input(client, setup):
    start = slot_start(future_day(3), 10)
    booking.book(booking.BookingRequest("ausweis", "buergeramt", start, contact("Erster", "first@example.org")))
    response = client.post(book_url(start), data={**VALID, "start": start.isoformat()})
    assert response.status_code == 409
    page = text(response)
    assert "Dieser Termin ist nicht mehr frei" in page
    assert 'type="radio" name="start"' in page
    assert 'value="Erika Mustermann"' in page
    # choosing the first alternative books it
    alternative = re.search(r'name="start" id="alternative-1" value="([^"]+)"', page).group(1)
    again = client.post(book_url(start), data={**VALID, "start": alternative})
    assert again.status_code == 303


def test_hold_page_and_confirmation(client, setup):
    setup["service"].email_confirmation = True
    db.session.commit()
    start = slot_start(future_day(4), 11)
    response = client.post(book_url(start), data={**VALID, "start": start.isoformat()})
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    assert "E-Mail-Postfach" in page and "15 Minuten" in page
    appointment = db.session.scalars(select(Appointment)).one()
    assert appointment.status == PENDING
    # a hold made through the service gives us the confirm token the mail would carry
    result = booking.book(booking.BookingRequest("ausweis", "buergeramt", slot_start(future_day(4), 13),
                                                 contact("Zweite", "second@example.org")))
    url = f"/termine/bestaetigen/{result.appointment.code}?token={result.confirm_token}"
    form = client.get(url)
    assert form.status_code == 200 and "Termin verbindlich bestätigen" in text(form)
    assert result.appointment.status == PENDING  # GET changes nothing (mail scanners open links)
    done = client.post(url)
    assert done.status_code == 303
    db.session.refresh(result.appointment)
    assert result.appointment.status == CONFIRMED
    assert "Ihr Termin ist gebucht" in text(client.get(done.headers["Location"]))
    wrong = client.get(f"/termine/bestaetigen/{result.appointment.code}?token=falsch")
    assert wrong.status_code == 404 and "/termine/verwalten/" in text(wrong)  # the way out: the lookup
    assert client.post(f"/termine/bestaetigen/{result.appointment.code}?token=falsch").status_code == 404


@pytest.fixture
def booked(setup):
    start = slot_start(future_day(5), 9)
    return booking.book(booking.BookingRequest("ausweis", "buergeramt", start, contact("Erika")))


def test_manage_page_needs_the_token(client, booked):
    code, token = booked.appointment.code, booked.manage_token
    assert client.get(f"/termine/verwalten/{code}").status_code == 404
    assert client.get(f"/termine/verwalten/{code}?token=wrong").status_code == 404
    response = client.get(f"/termine/verwalten/{code}?token={token}")
    assert response.status_code == 200 and response.headers["Referrer-Policy"] == "no-referrer"
    page = text(response)
    assert code in page and "Bürgeramt Mitte" in page and "Marktplatz 1" in page and "Biometrisches Foto" in page
    assert "Termin verschieben" in page and "Termin absagen" in page


def test_cancel_has_a_confirm_step(client, booked):
    code, token = booked.appointment.code, booked.manage_token
    page = text(client.get(f"/termine/verwalten/{code}/absagen?token={token}"))
    assert "Termin wirklich absagen?" in page
    assert booked.appointment.status == CONFIRMED
    response = client.post(f"/termine/verwalten/{code}/absagen?token={token}")
    assert response.status_code == 200 and "Ihr Termin ist abgesagt" in text(response)
    db.session.refresh(booked.appointment)
    assert booked.appointment.status == CANCELLED


def test_move_through_day_and_time_lists(client, booked):
    code, token = booked.appointment.code, booked.manage_token
    new_day = future_day(6)
    days = text(client.get(f"/termine/verwalten/{code}/verschieben?token={token}&monat={new_day:%Y-%m}"))
    assert f"tag={new_day.isoformat()}" in days
    times = text(client.get(f"/termine/verwalten/{code}/verschieben?token={token}&tag={new_day.isoformat()}"))
    new_start = slot_start(new_day, 14)
    # the same grid of time buttons as when booking: one click moves
    assert f'type="submit" name="start" value="{new_start.isoformat()}"' in times and "booking-times" in times
    # no time chosen: error summary
    missing = client.post(f"/termine/verwalten/{code}/verschieben?token={token}&tag={new_day.isoformat()}")
    assert missing.status_code == 400 and 'href="#field-start"' in text(missing)
    response = client.post(f"/termine/verwalten/{code}/verschieben?token={token}",
                           data={"start": new_start.isoformat()})
    assert response.status_code == 303
    db.session.refresh(booked.appointment)
    assert booked.appointment.start_at == new_start.astimezone(UTC)
    assert "wurde verschoben" in text(client.get(response.headers["Location"]))


def test_privacy_page_reads_retention_from_site_settings(client, setup):
    db.session.add(SiteSettings(name="Musterhausen", settings={"booking": {"erase_after_days": 14,
                                                                            "hold_minutes": 20}}))
    db.session.commit()
    page = text(client.get("/termine/datenschutz"))
    assert "14 Tage nach dem Termin" in page and "20 Minuten" in page


def test_csrf_is_enforced(app, client, setup):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        start = slot_start(future_day(3), 10)
        rejected = client.post(book_url(start), data={**VALID, "start": start.isoformat()})
        assert rejected.status_code == 400
        assert db.session.scalar(select(Appointment.id)) is None
        form = text(client.get(book_url(start)))
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        accepted = client.post(book_url(start), data={**VALID, "start": start.isoformat(), "csrf_token": token})
        assert accepted.status_code == 303
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_the_whole_flow_works_by_following_links_only(client, setup):
    """No JavaScript: every step is a plain link or a plain form."""
    page = text(client.get("/termine/"))
    href = re.search(r'href="(/termine/ausweis/)"', page).group(1)
    page = text(client.get(href))
    href = re.search(r'href="(/termine/ausweis/buergeramt/)"', page).group(1)
    page = text(client.get(href))
    href = re.search(r'href="(/termine/ausweis/buergeramt/\d{4}-\d\d-\d\d)"', page)
    if href is None:  # the rest of this month is past the lead time: next month
        page = text(client.get(re.search(r'href="(/termine/ausweis/buergeramt/\?monat=[^"]+)"', page).group(1)))
        href = re.search(r'href="(/termine/ausweis/buergeramt/\d{4}-\d\d-\d\d)"', page)
    page = text(client.get(href.group(1)))
    href = re.search(r'href="(/termine/ausweis/buergeramt/buchen\?start=[^"]+)"', page).group(1)
    page = text(client.get(href))
    assert "<script" not in page
    action = re.search(r'<form method="post" action="([^"]+)"', page).group(1)
    start = re.search(r'name="start" value="([^"]+)"', page).group(1)
    response = client.post(action, data={**VALID, "start": start})
    assert response.status_code == 303


def test_captcha_on_the_form(app, client, setup):
    from citizen_portal.core import captcha

    app.config["CAPTCHA"] = "on"
    app.config["CAPTCHA_KEY_PREFIX"] = "0"
    try:
        start = slot_start(future_day(3), 10)
        raw = client.get(book_url(start)).get_data(as_text=True)
        page = unescape(raw)
        assert "<altcha-widget" in page and 'name="altcha"' in page
        refused = client.post(book_url(start), data={**VALID, "start": start.isoformat()})
        assert refused.status_code == 400 and 'href="#field-altcha"' in text(refused)
        # every field in one pass, the captcha included
        both = text(client.post(book_url(start), data={**VALID, "name": "", "start": start.isoformat()}))
        assert 'href="#field-name"' in both and 'href="#field-altcha"' in both and "2 Angaben" in both
        import json

        challenge = json.loads(unescape(re.search(r'challenge="([^"]+)"', raw).group(1)))  # the form's own
        payload = captcha.solve_for_tests(challenge)
        accepted = client.post(book_url(start), data={**VALID, "start": start.isoformat(), "altcha": payload})
        assert accepted.status_code == 303
    finally:
        app.config["CAPTCHA"] = "off"
        app.config["CAPTCHA_KEY_PREFIX"] = "0000"


def test_without_javascript_the_waiting_token_books_a_hold_confirmed_by_mail(app, client, setup):
    """No proof of work can run without JavaScript: the <noscript> waiting-period token is accepted
    once, not before CAPTCHA_WAIT_SECONDS, and the booking becomes a hold to confirm by mail."""
    app.config.update(CAPTCHA="on", CAPTCHA_WAIT_SECONDS=2)
    try:
        start = slot_start(future_day(3), 11)
        page = text(client.get(book_url(start)))
        token = re.search(r'name="altcha_wait" value="([^"]+)"', page).group(1)
        form = {**VALID, "start": start.isoformat(), "altcha_wait": token}

        too_early = client.post(book_url(start), data=form)
        assert too_early.status_code == 400
        assert "Sekunden nach dem Laden" in text(too_early)
        # the re-rendered form keeps the same token, so the waiting period does not restart
        assert f'value="{token}"' in text(too_early)

        import time

        time.sleep(2.1)
        accepted = client.post(book_url(start), data=form)
        assert accepted.status_code == 303
        appointment = db.session.scalars(select(Appointment)).one()
        assert appointment.status == PENDING  # held until the citizen confirms by mail

        reused = client.post(book_url(start), data=form)
        assert reused.status_code == 400 and "schon verwendet" in text(reused)
        # issue 18.12: the re-rendered form never hands out the consumed token again
        fresh = re.search(r'name="altcha_wait" value="([^"]+)"', text(reused)).group(1)
        assert fresh != token
        # issue 18.2: a token belongs to its form (service, location, time): refused at another one
        other = slot_start(future_day(4), 11)
        elsewhere = client.post(book_url(other), data={**form, "start": other.isoformat(), "altcha_wait": fresh})
        assert elsewhere.status_code == 400 and "fehlgeschlagen" in text(elsewhere)
    finally:
        app.config.update(CAPTCHA="off")
        app.config["CAPTCHA_WAIT_SECONDS"] = 15


def test_forged_waiting_token_is_refused(app, client, setup):
    app.config.update(CAPTCHA="on", CAPTCHA_WAIT_SECONDS=0)
    try:
        start = slot_start(future_day(3), 12)
        forged = client.post(book_url(start), data={**VALID, "start": start.isoformat(),
                                                     "altcha_wait": "1700000000.abc.deadbeef"})
        assert forged.status_code == 400 and 'href="#field-altcha"' in text(forged)
        assert db.session.scalars(select(Appointment)).first() is None
    finally:
        app.config.update(CAPTCHA="off")
        app.config["CAPTCHA_WAIT_SECONDS"] = 15


def test_form_for_a_time_that_is_over_or_taken_is_not_offered(client, setup):
    """Issue 9: a page never offers a time the booking refuses: the form for a past time (an old
    link) or one that is not free sends the citizen back to the day's free times."""
    yesterday = datetime.now(UTC).astimezone(site_timezone()).date() - timedelta(days=1)
    for start in (slot_start(yesterday, 10), slot_start(future_day(3), 10) + timedelta(minutes=7)):
        response = client.get(book_url(start))
        assert response.status_code == 303
        assert response.headers["Location"].endswith(
            f"/termine/ausweis/buergeramt/{start.astimezone(site_timezone()).date().isoformat()}")
        page = text(client.get(response.headers["Location"]))
        assert "Diese Uhrzeit ist nicht mehr frei" in page
        assert 'name="privacy_consent"' not in page
    assert client.get(book_url(slot_start(future_day(3), 10))).status_code == 200


def test_days_page_opens_on_the_first_month_with_a_free_time(client, setup):
    """Issue 9: on 31 December in the evening (or with the rest of a month closed) the day list opened
    on a month with nothing left to book; it opens on the month of the first free day."""
    today = datetime.now(UTC).astimezone(site_timezone()).date()
    next_month = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    setup["location"].closures = [(today + timedelta(days=n)).isoformat() for n in range((next_month - today).days)]
    db.session.commit()
    for url in ("/termine/ausweis/buergeramt/", f"/termine/ausweis/buergeramt/?monat={today:%Y-%m}"):
        days = re.findall(r'href="/termine/ausweis/buergeramt/(\d{4}-\d\d-\d\d)"', text(client.get(url)))
        if "monat" in url:
            assert days == []  # the month asked for is still shown as asked
        else:
            assert days and {day[:7] for day in days} == {f"{next_month:%Y-%m}"}


@pytest.mark.parametrize("month", ["0001-01", "9999-12", "2026-13", "x"])
def test_a_month_out_of_range_shows_the_current_one(client, setup, month):
    """``?monat=0001-01`` or ``9999-12`` had no neighbouring month to link to: a 500 before."""
    before = datetime.now(UTC).astimezone(site_timezone()).date()
    response = client.get(f"/termine/ausweis/buergeramt/?monat={month}")
    after = datetime.now(UTC).astimezone(site_timezone()).date()  # the month may turn meanwhile
    assert response.status_code == 200
    assert any(format_date(day, "LLLL yyyy", locale="de") in text(response) for day in (before, after))
