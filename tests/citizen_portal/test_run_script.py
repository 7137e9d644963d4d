"""``scripts/run.py`` (``make run`` without the install steps): it really starts Radicale, loads the
demo city, seeds the calendars, serves the start page in German and English, and stops cleanly.

Slow (about 15-30 s) and independent of the test database: it runs in the SQLite pass only."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import caldav
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from staff_calendar.demo_seed import calendar_name, demo_events
from tests.fixtures.database import free_port
from tests.fixtures.mail import body_text
from tests.fixtures.patience import patience

# scripts/run.py makes its own SQLite database, so the test database of the pass does not matter
pytestmark = pytest.mark.sqlite_pass_only

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Press Ctrl-C to stop."
START_TIMEOUT_SECONDS = 180


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


class Output:
    """Collects a child's output lines in a thread."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self.thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, process: subprocess.Popen, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not seen; output:\n" + "\n".join(self.lines[-60:]))


@pytest.fixture(scope="module")
def running_portal(tmp_path_factory):
    instance = tmp_path_factory.mktemp("run") / "instance"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PORTAL_", "FLASK_"))}
    env.update({"PORTAL_INSTANCE_PATH": str(instance), "PORTAL_PORT": str(free_port()),
                "PORTAL_CALDAV_PORT": str(free_port()), "PORTAL_WORKERS": "1", "PYTHONUNBUFFERED": "1"})
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "run.py")], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = Output(process)
    try:
        output.wait_for(READY_LINE, process, patience(START_TIMEOUT_SECONDS))
        yield env, instance, output
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, "\n".join(output.lines[-30:])


def test_run_script_serves_the_demo(running_portal) -> None:
    env, instance, output = running_portal
    base = f"http://127.0.0.1:{env['PORTAL_PORT']}"
    text = "\n".join(output.lines)
    assert "32 changes" in text
    assert "demo logins" in text and "admin / admin-demo (admin)" in text
    assert "raeume / raeume-demo (room_admin)" in text and f"Public rooms:  {base}/raeume/" in text
    assert f"Portal:        {base}/" in text

    status, page = get(f"{base}/", {"Accept-Language": "de-DE,de;q=0.9"})
    assert status == 200 and '<html lang="de"' in page
    status, page = get(f"{base}/", {"Accept-Language": "en-GB,en;q=0.9"})
    assert status == 200 and '<html lang="en"' in page
    status, page = get(f"{base}/", {"Cookie": "lang=en"})
    assert status == 200 and '<html lang="en"' in page
    deadline = time.monotonic() + patience(30)  # the worker's first heartbeat may take a moment
    status, body = get(f"{base}/healthz")
    while status == 503 and time.monotonic() < deadline:
        time.sleep(1)
        status, body = get(f"{base}/healthz")
    assert status == 200, body
    assert json.loads(body)["checks"]["caldav"]["ok"] is True

    # a demo login works through the real form (CSRF token and session cookie included)
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    form_page = opener.open(f"{base}/anmelden", timeout=15).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form_page).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "username": "mmueller",
                                   "password": "mueller-demo"}).encode()
    after_login = opener.open(f"{base}/anmelden", data=data, timeout=15).read().decode()
    assert "Maria Müller" in after_login

    # the demo poll is open and its printed codes exist
    codes = (instance / "demo_poll_codes.txt").read_text().split()
    assert len(codes) >= 5
    # issue 18.12: the codes, the database and its WAL are the owner's only
    for private in ("demo_poll_codes.txt", "portal.sqlite3"):
        assert (instance / private).stat().st_mode & 0o077 == 0, private
    for maybe in ("portal.sqlite3-wal", "portal.sqlite3-shm", "secret_key"):
        assert not (instance / maybe).exists() or (instance / maybe).stat().st_mode & 0o077 == 0, maybe
    status, page = get(f"{base}/beteiligung/")
    assert status == 200 and "/beteiligung/spielplatz-am-stadtpark" in page
    status, page = get(f"{base}/raeume/buergerraum")  # the demo's room for citizens (issue 16)
    assert status == 200 and "Bürgerraum" in page and "Hausordnung" in page

    password = (instance / "caldav_password").read_text().strip()
    assert oct((instance / "caldav_password").stat().st_mode & 0o777) == "0o600"
    caldav_base = f"http://127.0.0.1:{env['PORTAL_CALDAV_PORT']}"
    with caldav.DAVClient(url=caldav_base + "/", username="portal", password=password) as client:
        for path in ("/mmueller/termine/", "/jweber/termine/", "/rooms/sitzungssaal/"):
            events = caldav.Calendar(client=client, url=caldav_base + path).events()
            assert len(events) >= 4, path
            assert any("RRULE" in event.data for event in events), path
    status, _ = get(caldav_base + "/tschmidt/termine/")
    assert status == 401  # htpasswd auth is on


def test_demo_events_fall_on_working_days() -> None:
    zone = ZoneInfo("Europe/Berlin")
    saturday = date(2026, 3, 7)
    events = demo_events("mmueller", 0, saturday, zone)
    assert len(events) == 4
    assert events[0].weekly and events[0].start.date() == date(2026, 3, 9)
    assert all(event.start.weekday() < 5 and event.end > event.start for event in events)
    assert all(event.start > datetime.combine(saturday, datetime.min.time(), tzinfo=zone) for event in events)
    assert len({event.uid for event in events}) == 4
    assert events == demo_events("mmueller", 0, saturday, zone)  # deterministic UIDs: reruns add nothing
    assert demo_events("mmueller", 0, saturday + timedelta(days=7), zone)[0].uid == events[0].uid


def test_calendar_names() -> None:
    assert calendar_name("http://127.0.0.1:5232/mmueller/termine/") == "mmueller"
    assert calendar_name("http://127.0.0.1:5232/rooms/sitzungssaal/") == "sitzungssaal"


# --------------------------------------------------------------------------- the issues' "done when", in a browser

WAIT_FOR_CALENDAR_SECONDS = 30


def portal_events(env: dict, instance: Path, path: str) -> list[str]:
    """iCalendar texts of the events this platform wrote into one calendar of the embedded Radicale."""
    password = (instance / "caldav_password").read_text().strip()
    base = f"http://127.0.0.1:{env['PORTAL_CALDAV_PORT']}"
    with caldav.DAVClient(url=base + "/", username="portal", password=password) as client:
        return [event.data for event in caldav.Calendar(client=client, url=base + path).events()
                if "X-MUNICIPAL-PORTAL" in event.data]


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + patience(WAIT_FOR_CALENDAR_SECONDS)
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"not within {WAIT_FOR_CALENDAR_SECONDS} s: {what}")


def events_with(env, instance, path: str, text: str) -> list[str]:
    return [event for event in portal_events(env, instance, path) if text in event]


def later_open_day(page, select: str) -> str:
    """The second open day the page's day list offers (never today, so no half day or time of it can
    pass while the test runs; within the next week, so "my week" lists the booking)."""
    options = page.locator(f"{select} option")
    values = [options.nth(n).get_attribute("value") for n in range(options.count())
              if "(" not in options.nth(n).inner_text()]  # closed days say why in parentheses
    return values[1]


def free_hour(page, room: str) -> tuple[str, str]:
    """The first hour (local ``HH:MM`` start and end) the room page shows as still free in ``room``."""
    zone = ZoneInfo("Europe/Berlin")
    times = page.locator(f"section[aria-labelledby=room-{room}] .spaces-free time")
    moments = [datetime.fromisoformat(times.nth(n).get_attribute("datetime")).astimezone(zone)
               for n in range(times.count())]
    for start, end in zip(moments[::2], moments[1::2], strict=True):
        if end - start >= timedelta(hours=1):
            return start.strftime("%H:%M"), (start + timedelta(hours=1)).strftime("%H:%M")
    raise AssertionError(f"no free hour in {room}: {moments}")


@pytest.mark.browser
def test_demo_in_the_browser_lands_in_the_calendars(running_portal, page) -> None:
    """With ``make run``: a citizen books an appointment (real proof-of-work captcha) and it appears
    in the staff member's Radicale calendar, and leaves it on cancel; a staff member books a desk
    (transparent event) and a room (in their and the room's calendar), cancelling removes them;
    a printed poll code votes once and is refused the second time."""
    env, instance, _output = running_portal
    base = f"http://127.0.0.1:{env['PORTAL_PORT']}"
    page.context.add_cookies([{"name": "lang", "value": "de", "url": base}])
    staff_calendars = [f"/{key}/termine/" for key in ("mmueller", "tschmidt", "aylmaz", "jweber")]

    # citizen: appointment with the ALTCHA widget solving the server's challenge in the browser
    page.goto(base + "/termine/")
    page.get_by_role("link", name="Geburtsurkunde beantragen").click()
    page.wait_for_url(re.compile(r"/termine/geburtsurkunde/standesamt/"))  # one location: no location step
    # a day after the first one offered and its last time: far from the lead time whatever the hour
    days = page.locator(".booking-day-list a")
    days.nth(min(1, days.count() - 1)).click()
    page.locator(".booking-times a").last.click()
    page.get_by_label("Vor- und Nachname").fill("Erika Mustermann")
    page.get_by_label("E-Mail-Adresse").fill("erika@example.org")
    page.get_by_label("Ich habe die Datenschutzhinweise").check()
    # the widget solves on load (tests/citizen_portal/booking/test_browser_citizen_ux.py proves that);
    # here, where the demo is the subject, a widget that has not finished is ticked as a citizen would
    solved = "() => document.querySelector('input[name=altcha]')?.value"
    try:
        page.wait_for_function(solved, timeout=patience(20) * 1000)
    except PlaywrightTimeout:
        page.get_by_text("Ich bin kein Roboter").click()
        page.wait_for_function(solved, timeout=patience(30) * 1000)
    page.get_by_role("button", name="Termin verbindlich buchen").click()
    assert "Ihr Termin ist gebucht" in page.locator("h1").inner_text()
    code = page.locator(".booking-code").inner_text().strip()
    wait_until(lambda: any(events_with(env, instance, path, code) for path in staff_calendars),
               f"appointment {code} in a staff calendar")
    [calendar] = [path for path in staff_calendars if events_with(env, instance, path, code)]
    assert "TRANSP:OPAQUE" in events_with(env, instance, calendar, code)[0]
    assert "Erika" not in events_with(env, instance, calendar, code)[0]  # no personal data by default
    def confirmations() -> list:  # the mail is written after the response, by the process's courier
        mails = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                 for path in sorted((instance / "mail").glob("*.eml"))]
        return [mail for mail in mails if code in mail["Subject"]]

    wait_until(confirmations, f"the confirmation mail of {code}")
    [confirmation] = confirmations()
    manage_url = re.search(r"https?://\S+/termine/verwalten/\S+", body_text(confirmation)).group(0)
    page.goto(base + "/termine/verwalten/" + manage_url.split("/termine/verwalten/", 1)[1])
    page.get_by_role("link", name="Termin absagen").click()
    page.get_by_role("button", name="Ja, Termin absagen").click()
    assert "Ihr Termin ist abgesagt" in page.locator("h1").inner_text()
    wait_until(lambda: not any("STATUS:CANCELLED" not in event
                               for event in events_with(env, instance, calendar, code)),
               f"appointment {code} removed from {calendar}")

    # staff: a desk and a room, shown in the calendars, removed on cancel
    page.goto(base + "/anmelden")
    page.fill("#username", "mmueller")
    page.fill("#password", "mueller-demo")
    page.locator("form button[type=submit]").last.click()
    page.goto(base + "/arbeitsplaetze/buchen")
    page.goto(base + "/arbeitsplaetze/buchen?date=" + later_open_day(page, "#filter-date"))
    page.get_by_role("button", name=re.compile(r"^Buchen\W+Fenster 1, Ganzer Tag")).click()
    wait_until(lambda: events_with(env, instance, "/mmueller/termine/", "TRANSP:TRANSPARENT"),
               "the desk booking as a transparent event in mmueller's calendar")
    page.goto(base + "/arbeitsplaetze/raeume")
    page.goto(base + "/arbeitsplaetze/raeume?date=" + later_open_day(page, "#room-day"))
    start, end = free_hour(page, "sitzungssaal")
    page.get_by_label("Raum", exact=True).select_option("sitzungssaal")
    page.get_by_label("Beginn").select_option(start)
    page.get_by_label("Ende").select_option(end)
    page.get_by_label("Titel").fill("Jour fixe Standesamt")
    page.get_by_role("button", name="Raum buchen").click()
    page.wait_for_url(re.compile(r"/arbeitsplaetze/$"))
    wait_until(lambda: events_with(env, instance, "/mmueller/termine/", "Jour fixe")
               and events_with(env, instance, "/rooms/sitzungssaal/", "Jour fixe"),
               "the room booking in mmueller's and the room's calendar")
    assert "TRANSP:OPAQUE" in events_with(env, instance, "/rooms/sitzungssaal/", "Jour fixe")[0]
    page.get_by_role("button", name=re.compile(r"^Stornieren\W+Fenster 1")).click()
    page.wait_for_url(re.compile(r"/arbeitsplaetze/$"))
    page.get_by_role("button", name=re.compile(r"^Stornieren\W+Jour fixe")).click()
    page.wait_for_url(re.compile(r"/arbeitsplaetze/$"))
    wait_until(lambda: not events_with(env, instance, "/mmueller/termine/", "TRANSP:TRANSPARENT")
               and not events_with(env, instance, "/mmueller/termine/", "Jour fixe")
               and not events_with(env, instance, "/rooms/sitzungssaal/", "Jour fixe"),
               "desk and room events removed after cancelling")

    # citizen: the demo poll with a printed code, once
    code = (instance / "demo_poll_codes.txt").read_text().split()[-1]
    for attempt in ("first", "second"):
        page.goto(base + "/beteiligung/spielplatz-am-stadtpark")
        page.get_by_label("Einladungscode").fill(code)
        page.get_by_label("Nordwiese am Stadtpark").check()
        page.get_by_role("button", name="Stimme abgeben").click()
        if attempt == "first":
            heading = page.get_by_role("heading", name="Vielen Dank, Ihre Stimme ist eingegangen.")
            heading.wait_for()  # the receipt page after the redirect, loaded
            assert heading.is_visible()
        else:
            assert page.get_by_role("alert").filter(has_text="schon abgestimmt").is_visible()
