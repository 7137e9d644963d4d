"""Done-when of issue 16 in Chromium against the app with a real Radicale: a citizen requests the
public room for a weekly series, confirms the address from the mail, the room admin approves, and the
events are TENTATIVE and then CONFIRMED in the room's Radicale calendar; a declined request frees
its time (the event leaves Radicale, the week shows the time free again). axe-core finds no
violation on any new page, in German and in English."""

from __future__ import annotations

import re
from datetime import timedelta

import icalendar
import pytest

from citizen_portal.core.extensions import db
from staff_calendar.calendars import outbox
from tests.factories import make_user
from tests.fixtures.caldav_servers import link_calendar
from tests.fixtures.mail import body_text
from tests.staff_calendar.spaces.factories import make_site
from tests.staff_calendar.spaces.public.helpers import make_public_room, series_start

pytestmark = pytest.mark.browser
LINK = re.compile(r"http://\S+(/raeume/(?:bestaetigen|anfrage)/\S+)")
BUTTON = {"de": {"confirm": "Anfrage bestätigen", "approve": "Zusagen", "decline": "Absagen", "send": "Anfrage senden",
                 "login": "Anmelden"},
          "en": {"confirm": "Confirm request", "approve": "Approve", "decline": "Decline", "send": "Send request",
                 "login": "Sign in"}}


EVENING_FREE = re.compile(r"(20:00|8:00\sPM)\s*[–-]\s*(22:00|10:00\sPM)")  # de and en clock formats


def free_line(page, base: str, day) -> str:
    """The text of ``day`` in the room's week list."""
    page.goto(f"{base}/raeume/buergerraum?date={day.isoformat()}")
    return page.locator("ul.public-room-week > li").nth(day.weekday()).inner_text()


def remote_events(remote) -> dict[str, icalendar.Event]:
    found = {}
    for obj in remote.calendar.get_events():
        for event in icalendar.Calendar.from_ical(obj.data).walk("VEVENT"):
            found[str(event["UID"])] = event
    return found


def drain(server) -> None:
    with server.app.app_context():
        result = outbox.drain(ignore_backoff=True)
        assert not result.failed, result


def path_of(message) -> str:
    return LINK.search(body_text(message)).group(1)


def request_room(page, base: str, first, until, start: str, end: str, send: str) -> None:
    page.goto(f"{base}/raeume/buergerraum/anfragen")
    page.fill("#field-date", first.isoformat())
    page.fill("#field-start", start)
    page.fill("#field-end", end)
    if until:
        page.fill("#field-until", until.isoformat())
    page.fill("#field-name", "Erika Muster")
    page.fill("#field-email", "erika@example.org")
    page.fill("#field-organisation", "Gartenverein")
    page.fill("#field-purpose", "Monatstreffen")
    page.fill("#field-attendees", "12")
    page.check("#field-accept-rules")
    page.get_by_role("button", name=send).click()
    page.wait_for_load_state()


@pytest.mark.parametrize("language", ["de", "en"])
def test_series_approved_into_radicale_and_decline_frees(live_server_factory, radicale_server, smtp_sink, clock,
                                                         page, assert_no_axe_violations, language):
    server = live_server_factory(**smtp_sink.config)
    base = server.url
    first = series_start(3)
    clock.set(first - timedelta(days=2), 12)
    with server.app.app_context():
        make_site()
        _, remote = link_calendar(radicale_server, "room:buergerraum")
        make_public_room(calendar_key="room:buergerraum")
        make_user("raeume", roles="room_admin", password="Sehr-geheim-2026", display_name="Raumvergabe")
        db.session.commit()
    text = BUTTON[language]
    page.context.add_cookies([{"name": "lang", "value": language, "url": base}])

    for path, label in (("/raeume/", "catalogue"), ("/raeume/buergerraum", "room week"),
                        ("/raeume/buergerraum/anfragen", "request form")):
        page.goto(base + path)
        assert page.locator("html").get_attribute("lang") == language
        assert_no_axe_violations(page, f"{label} ({language})")
    page.goto(f"{base}/raeume/buergerraum/anfragen")
    page.get_by_role("button", name=text["send"]).click()  # empty form: the error summary
    assert page.locator("#error-summary").is_visible()
    assert_no_axe_violations(page, f"request form with errors ({language})")

    # a weekly series of three dates, 18:00-20:00
    request_room(page, base, first, first + timedelta(weeks=2), "18:00", "20:00", text["send"])
    assert_no_axe_violations(page, f"request sent ({language})")
    page.goto(base + path_of(smtp_sink.wait_for(1)[0]))
    assert_no_axe_violations(page, f"confirm address ({language})")
    page.get_by_role("button", name=text["confirm"]).click()
    page.wait_for_load_state()
    assert_no_axe_violations(page, f"request confirmed ({language})")
    drain(server)
    held = remote_events(remote)
    assert len(held) == 3 and {str(e["STATUS"]) for e in held.values()} == {"TENTATIVE"}
    assert all("Erika" not in e.to_ical().decode() for e in held.values())

    # a second request (a single date, 20:00-21:00), to be declined
    request_room(page, base, first, None, "20:00", "21:00", text["send"])
    page.goto(base + path_of(smtp_sink.wait_for(2)[1]))
    page.get_by_role("button", name=text["confirm"]).click()
    page.wait_for_load_state()
    drain(server)
    assert len(remote_events(remote)) == 4
    assert not EVENING_FREE.search(free_line(page, base, first))  # 20:00-21:00 is held

    # the room admin sees both, approves the series and declines the single date
    page.goto(base + "/anmelden")
    page.fill("#username", "raeume")
    page.fill("#password", "Sehr-geheim-2026")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    page.goto(base + "/raeume/verwaltung/")
    assert page.content().count("Erika Muster") == 2
    assert_no_axe_violations(page, f"room admin, two pending ({language})")
    page.get_by_role("button", name=re.compile(f"^{text['approve']}")).first.click()
    page.wait_for_url(re.compile(r"/raeume/verwaltung/$"))
    drain(server)
    after_approval = remote_events(remote)
    confirmed = {uid: event for uid, event in after_approval.items() if uid in held}
    assert {str(e["STATUS"]) for e in confirmed.values()} == {"CONFIRMED"} and len(confirmed) == 3
    assert [str(e["STATUS"]) for uid, e in after_approval.items() if uid not in held] == ["TENTATIVE"]
    page.goto(base + path_of(smtp_sink.wait_for(3)[2]))
    assert_no_axe_violations(page, f"manage link ({language})")

    page.goto(base + "/raeume/verwaltung/")
    page.get_by_role("button", name=re.compile(f"^{text['decline']}")).first.click()  # without a reason
    assert page.locator("#error-summary").is_visible()
    assert_no_axe_violations(page, f"room admin, decline without reason ({language})")
    page.locator("textarea[name=reason]").first.fill("Renovierung")
    page.get_by_role("button", name=re.compile(f"^{text['decline']}")).first.click()
    page.wait_for_url(re.compile(r"/raeume/verwaltung/$"))
    drain(server)
    assert remote_events(remote).keys() == confirmed.keys()  # the declined event left Radicale
    assert "Renovierung" in body_text(smtp_sink.wait_for(4)[3])
    line = free_line(page, base, first)
    assert_no_axe_violations(page, f"room week with bookings ({language})")
    assert EVENING_FREE.search(line), line
