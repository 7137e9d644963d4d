"""Issue 18.8 (booking part): with ``event_details`` "with_name" or "full" the staff calendar event
carries the citizen's name (and e-mail, phone, note); erasing the appointment must rewrite the event
on the CalDAV server without them. Against real Radicale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from citizen_portal.booking import services
from citizen_portal.booking.models import CANCELLED
from citizen_portal.booking.services.calendar_events import schedule_calendar_event
from citizen_portal.core.extensions import db
from staff_calendar.calendars import outbox
from tests.citizen_portal.booking.factories import make_appointment, make_setup
from tests.fixtures.caldav_servers import link_calendar

pytestmark = pytest.mark.caldav

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
PERSONAL = ("Erika Mustermann", "erika@example.org", "0711 123456", "Rollstuhl")


def remote_texts(calendar) -> dict[str, str]:
    """UID → the whole VEVENT as text, as the server holds it."""
    found = {}
    for obj in calendar.get_events():
        for event in icalendar.Calendar.from_ical(obj.data).walk("VEVENT"):
            found[str(event["UID"])] = event.to_ical().decode()
    return found


@pytest.mark.parametrize("details", ["with_name", "full"])
def test_erasure_rewrites_the_staff_event_without_personal_data(app, radicale_server, details):
    link, remote = link_calendar(radicale_server)
    location, service, [member] = make_setup(site_kw={"erase_after_days": 30, "event_details": details})
    member.calendar_key = link.key
    db.session.commit()
    past = make_appointment(service, location, member, NOW - timedelta(days=31), name=PERSONAL[0],
                            email=PERSONAL[1], phone=PERSONAL[2], note=PERSONAL[3], code="ABC-DEF")
    cancelled = make_appointment(service, location, member, NOW - timedelta(days=40), status=CANCELLED,
                                 name="Max Muster", code="GHJ-KMN")
    schedule_calendar_event(past)
    db.session.commit()
    assert outbox.drain().delivered == 1
    uid = next(iter(remote_texts(remote.calendar)))
    before = remote_texts(remote.calendar)[uid].replace("\r\n ", "")
    assert PERSONAL[0] in before  # what the setting puts into the event (the finding's starting point)

    assert services.erase_personal_data(now=NOW) == 2
    assert outbox.drain().delivered == 1  # one rewrite: the cancelled one has no event any more

    events = remote_texts(remote.calendar)
    assert list(events) == [uid]
    after = events[uid].replace("\r\n ", "")
    for value in (*PERSONAL, "Max Muster"):
        assert value not in after, value
    assert "ABC-DEF" in after  # summary (service and code) and times stay
    db.session.refresh(past)
    db.session.refresh(cancelled)
    assert past.name is None and past.erased_at == NOW and cancelled.erased_at == NOW
