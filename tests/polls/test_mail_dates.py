"""Poll and suggestion mails write dates and times as the reader's language does (issue 17.3): German
"Mittwoch, 9. Dezember 2026, 17:50 Uhr", English in en-GB style, day before month and 24-hour
("Wednesday, 9 December 2026, 17:50"), never the US "December 9, 2026, 5:50 PM". Real SMTP sink."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import to_local
from polls.models import EmailToken
from tests.fixtures.mail import body_text
from tests.polls.factories import make_poll

MONTHS = {
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
WEEKDAYS = {
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def _written(moment: datetime, language: str) -> str:
    """The date and time as the mail must write them, from the stored UTC moment (Europe/Berlin)."""
    local = to_local(moment)
    weekday, month = WEEKDAYS[language][local.weekday()], MONTHS[language][local.month - 1]
    if language == "de":
        return f"{weekday}, {local.day}. {month} {local.year}, {local:%H:%M} Uhr"
    return f"{weekday}, {local.day} {month} {local.year}, {local:%H:%M}"


def _expiry(purpose: str) -> datetime:
    return db.session.scalar(select(EmailToken.expires_at).where(EmailToken.purpose == purpose))


def _text(message) -> str:
    return " ".join(body_text(message).split())  # the mail may wrap a long line


def test_suggestion_mail_in_english_uses_day_month_and_24_hours(client, app, smtp_sink):
    response = client.post("/beteiligung/ideen/neu", headers={"Accept-Language": "en"}, data={
        "title": "Drinking fountain", "text": "Water in summer.", "category": "", "email": "emil@example.org"})
    assert response.status_code == 200
    [mail] = smtp_sink.wait_for(1)
    text = _text(mail)
    assert mail["Subject"] == "Please confirm your suggestion"
    assert f"The link is valid for 48 hours, until {_written(_expiry('suggest'), 'en')}." in text
    assert " AM" not in text and " PM" not in text


def test_suggestion_mail_in_german_uses_the_german_format(client, app, smtp_sink):
    client.post("/beteiligung/ideen/neu", headers={"Accept-Language": "de"}, data={
        "title": "Trinkbrunnen", "text": "Im Sommer fehlt Wasser.", "category": "", "email": "emil@example.org"})
    [mail] = smtp_sink.wait_for(1)
    assert f"Der Link gilt 48 Stunden, bis {_written(_expiry('suggest'), 'de')}." in _text(mail)


def test_vote_link_mail_in_english_names_link_expiry_and_poll_end_in_en_gb(client, app, smtp_sink):
    poll = make_poll(mode="email")
    client.post(f"/beteiligung/{poll.slug}/link", headers={"Accept-Language": "en"},
                data={"email": "carla@example.org"})
    [mail] = smtp_sink.wait_for(1)
    text = _text(mail)
    assert f"The poll is open until {_written(poll.closes_at, 'en')}." in text
    assert f"until {_written(_expiry('vote'), 'en')}, and for one vote." in text
    assert " AM" not in text and " PM" not in text

    smtp_sink.clear()
    client.post(f"/beteiligung/{poll.slug}/link", headers={"Accept-Language": "de"}, data={"email": "dora@example.org"})
    [german] = smtp_sink.wait_for(1)
    assert f"Die Umfrage läuft bis {_written(poll.closes_at, 'de')}." in _text(german)
