"""The site file: every validation rule names the key and the problem; loading is idempotent,
reports updates, deactivates instead of deleting, and a broken file changes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from citizen_portal.booking.models import Location, Service, StaffMember
from citizen_portal.core.extensions import db
from citizen_portal.core.models import SiteSettings
from citizen_portal.site.schema import SiteFileInvalid, parse_site_file, parse_site_text
from citizen_portal.site.services import apply_site
from staff_calendar.calendars.models import CalendarLink
from staff_calendar.spaces.models import Desk, Floor, Room

DEMO = Path(__file__).resolve().parents[2] / "demo" / "site.toml"
TZ = "Europe/Berlin"

MINIMAL = """
[site]
name = "Stadt Testhausen"
timezone = "Europe/Berlin"
holidays = "BW"
contact = { phone = "+49 7971 1", email = "amt@testhausen.example" }
legal.accessibility.feedback_email = "a11y@testhausen.example"
legal.accessibility.enforcement = "Schlichtungsstelle"
legal.accessibility.prepared_on = "2026-12-01"
legal.privacy = { controller = "Stadt Testhausen", dpo_email = "dsb@a.example", supervisory_authority = "LfDI" }

[[locations]]
key = "amt"
name = { de = "Amt", en = "Office" }
opening_hours = { mon = ["08:00-12:00"] }

[[services]]
key = "ausweis"
name = { de = "Ausweis" }
duration_minutes = 15
locations = ["amt"]

[[staff]]
key = "anna"
name = "Anna A."
locations = ["amt"]
services = ["ausweis"]
calendar = { url = "http://127.0.0.1:5232/anna/termine/", username = "portal", password_env = "CALDAV_PASSWORD" }

[[floors]]
key = "eg"
name = { de = "EG" }

[[desks]]
key = "eg-01"
floor = "eg"

[[rooms]]
key = "raum"
floor = "eg"
name = { de = "Raum" }
"""


def errors_of(text: str, timezone: str = TZ) -> list[str]:
    with pytest.raises(SiteFileInvalid) as caught:
        parse_site_text(text, timezone)
    return [str(error) for error in caught.value.errors]


def replace(old: str, new: str, base: str = MINIMAL) -> str:
    assert old in base, old
    return base.replace(old, new, 1)


def test_minimal_file_is_valid() -> None:
    parsed = parse_site_text(MINIMAL, TZ)
    assert parsed.summary() == "1 locations, 1 services, 1 staff, 1 floors, 1 desks, 1 rooms"
    assert parsed.site.booking.hold_minutes == 15
    assert parsed.site.spaces.release_time == "10:00"
    assert parsed.services[0].max_active_per_email == 1


def test_demo_site_passes_check() -> None:
    parsed = parse_site_file(DEMO, TZ)
    assert (len(parsed.locations), len(parsed.services), len(parsed.staff)) == (2, 4, 4)
    assert (len(parsed.floors), len(parsed.desks), len(parsed.rooms)) == (1, 10, 3)
    [public] = [room for room in parsed.rooms if room.public]  # the demo's room for citizens (issue 16)
    assert public.key == "buergerraum" and public.public.hours["sat"] and public.public.house_rules["en"]
    assert {staff.key for staff in parsed.staff} == {"mmueller", "tschmidt", "aylmaz", "jweber"}
    assert any(service.email_confirmation for service in parsed.services)
    for day in ("mon", "tue", "wed", "thu", "fri"):
        assert all(location.opening_hours.get(day) for location in parsed.locations)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('duration_minutes = 15', 'duration_minutes = "15"', r"services\[ausweis\]\.duration_minutes: must be a whole"),
        ('duration_minutes = 15', 'duration_minutes = 0', r"services\[ausweis\]\.duration_minutes: must be between"),
        ('duration_minutes = 15', 'duration_minutes = true', r"duration_minutes: must be a whole number, not a bool"),
        ('duration_minutes = 15\n', '', r"services\[ausweis\]\.duration_minutes: missing"),
        ('duration_minutes = 15', 'duration_minutes = 15\ncolour = "red"', r"services\[ausweis\]\.colour: unknown key"),
        ('["08:00-12:00"]', '["08:00-12:60"]', r"locations\[amt\]\.opening_hours\.mon\[0\]: '08:00-12:60' is not"),
        ('["08:00-12:00"]', '["12:00-08:00"]', r"opening_hours\.mon\[0\]: '12:00-08:00' is not a time range"),
        ('["08:00-12:00"]', '["8-12"]', r"opening_hours\.mon\[0\]: '8-12' is not a time range"),
        ('["08:00-12:00"]', '["08:00-12:00", "11:00-13:00"]', r"opening_hours\.mon\[1\]: '11:00-13:00' overlaps"),
        ('mon = ["08:00-12:00"]', 'monday = ["08:00-12:00"]', r"opening_hours\.monday: unknown weekday"),
        ('mon = ["08:00-12:00"]', 'mon = "08:00-12:00"', r"opening_hours\.mon: must be a list"),
        ('opening_hours = {', 'closures = ["2026-02-30"]\nopening_hours = {',
         r"locations\[amt\]\.closures\[0\]: '2026-02-30' is not a date"),
        ('opening_hours = {', 'closures = ["2026-12-24", 2026-12-24]\nopening_hours = {',
         r"closures\[1\]: 2026-12-24 is listed twice"),
        ('[[services]]', '[[services]]\nkey = "ausweis"\nname = "A"\nduration_minutes = 5\nlocations = ["amt"]\n'
                         '[[services]]',
         r"services\[1\]\.key: duplicate key 'ausweis' \(also services\[0\]\)"),
        ('[[desks]]', '[[desks]]\nkey = "eg-01"\nfloor = "eg"\n\n[[desks]]',
         r"desks\[1\]\.key: duplicate key 'eg-01'"),
        ('key = "eg-01"', 'key = "EG 01"', r"desks\[0\]\.key: 'EG 01' is not a valid key"),
        ('locations = ["amt"]\n\n[[staff]]', 'locations = ["rathaus"]\n\n[[staff]]',
         r"services\[ausweis\]\.locations\[0\]: unknown location 'rathaus'"),
        ('services = ["ausweis"]', 'services = ["pass"]', r"staff\[anna\]\.services\[0\]: unknown service 'pass'"),
        ('floor = "eg"\n\n[[rooms]]', 'floor = "og"\n\n[[rooms]]', r"desks\[eg-01\]\.floor: unknown floor 'og'"),
        ('password_env = "CALDAV_PASSWORD"', 'password = "geheim"',
         r"staff\[anna\]\.calendar\.password: never write a password into the site file: use password_env"),
        ('password_env = "CALDAV_PASSWORD"', 'password_env = "A", password_file = "b"',
         r"staff\[anna\]\.calendar: give either password_env or password_file"),
        ('password_env = "CALDAV_PASSWORD"', 'password_file = "../secret"',
         r"calendar\.password_file: must be a file name relative to instance/"),
        ('url = "http://127.0.0.1:5232/anna/termine/"', 'url = "ftp://x/"',
         r"staff\[anna\]\.calendar\.url: 'ftp://x/' is not an http"),
        ('holidays = "BW"', 'holidays = "XX"', r"site\.holidays: 'XX' is not a German Bundesland code \(one of .*BW"),
        ('timezone = "Europe/Berlin"', 'timezone = "Europe/Atlantis"', r"site\.timezone: 'Europe/Atlantis' is not a"),
        ('timezone = "Europe/Berlin"', 'timezone = "Europe/Vienna"',
         r"site\.timezone: 'Europe/Vienna' differs from the app's time zone 'Europe/Berlin': set PORTAL_TIMEZONE="),
        ('name = "Stadt Testhausen"', 'name = "Stadt Testhausen"\nbooking = { hold_minutes = 0 }',
         r"site\.booking\.hold_minutes: must be between 1 and 120"),
        ('name = "Stadt Testhausen"', 'name = "Stadt Testhausen"\nbooking = { event_details = "all" }',
         r"site\.booking\.event_details: must be one of"),
        ('name = "Stadt Testhausen"', 'name = "Stadt Testhausen"\nspaces = { release_time = "25:00" }',
         r"site\.spaces\.release_time: '25:00' is not a time of day"),
        ('name = "Stadt Testhausen"', 'name = "Stadt Testhausen"\nspaces = { morning = "12:00-08:00" }',
         r"site\.spaces\.morning: '12:00-08:00' is not a time range"),
        # a half day ends at 23:59 at the latest: the desk rules read it as a time of day
        ('name = "Stadt Testhausen"', 'name = "Stadt Testhausen"\nspaces = { afternoon = "12:30-24:00" }',
         r"site\.spaces\.afternoon: '12:30-24:00' is not a time range"),
        ('name = "Stadt Testhausen"', 'name = "Stadt Testhausen"\nclosures = ["2026-02-30"]',
         r"site\.closures"),
        ('name = "Stadt Testhausen"', 'name = "Stadt Testhausen"\nspaces = { checkin = "yes" }',
         r"site\.spaces\.checkin: must be true or false"),
        ('name = "Stadt Testhausen"', 'name = "Stadt Testhausen"\nlegal.impressum = { en = "x" }',
         r"site\.legal\.impressum\.de: missing \(the German text is required\)"),
        ('name = "Stadt Testhausen"', 'name = "Stadt Testhausen"\nlegal.agb = "x"',
         r"site\.legal\.agb: unknown key"),
        ('name = { de = "Amt", en = "Office" }', 'name = { de = "Amt", fr = "Bureau" }',
         r"locations\[amt\]\.name\.fr: unknown language"),
        ('[site]', 'colour = "red"\n[site]', r"^colour: unknown key"),
        ('name = "Anna A."', 'name = "Anna A."\nemail = "anna"', r"staff\[anna\]\.email: is not an email address"),
        ('duration_minutes = 15', 'duration_minutes = 15\ndocuments = { de = "Pass" }',
         r"services\[ausweis\]\.documents\.de: must be a list"),
        ('key = "raum"', 'key = "raum"\ncapacity = 0', r"rooms\[raum\]\.capacity: must be between 1 and 1000"),
        ('floor = "eg"\n\n[[rooms]]', 'floor = "eg"\nx = 120\n\n[[rooms]]',
         r"desks\[eg-01\]\.x: must be between 0 and 100"),
        ('[site]\nname', '[site]\nname = "a"\nname', r"^\(file\): not valid TOML"),
        ('[[locations]]\nkey = "amt"\nname = { de = "Amt", en = "Office" }\n', '[[locations]]\nkey = "amt"\n',
         r"locations\[amt\]\.name: missing"),
    ],
)
def test_errors_name_key_and_problem(old: str, new: str, expected: str) -> None:
    errors = errors_of(replace(old, new))
    assert any(re.search(expected, error) for error in errors), errors


def test_staff_service_must_be_offered_at_one_of_their_locations() -> None:
    text = replace('[[services]]', '[[locations]]\nkey = "zweit"\nname = "Zweitamt"\n\n[[services]]')
    text = replace('locations = ["amt"]\nservices', 'locations = ["zweit"]\nservices', text)
    assert errors_of(text) == ["staff[anna].services[0]: service 'ausweis' is not offered at any of this "
                               "member's locations (zweit)"]


def test_every_error_is_collected() -> None:
    text = replace('duration_minutes = 15', 'duration_minutes = -1')
    text = replace('holidays = "BW"', 'holidays = "ZZ"', text)
    text = replace('password_env = "CALDAV_PASSWORD"', 'password = "x"', text)
    errors = errors_of(text)
    assert len(errors) == 3, errors


def test_timezone_must_match_the_app() -> None:
    errors = errors_of(MINIMAL, timezone="Europe/Vienna")
    assert errors == ["site.timezone: 'Europe/Berlin' differs from the app's time zone 'Europe/Vienna': "
                      "set PORTAL_TIMEZONE=Europe/Berlin or write timezone = 'Europe/Vienna'"]


def test_missing_site_table() -> None:
    assert "site: missing: the file needs a [site] table with at least name" in errors_of("")


# --------------------------------------------------------------------------- loading


def counts() -> dict[str, int]:
    models = (SiteSettings, Location, Service, StaffMember, CalendarLink, Floor, Desk, Room)
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in models}


def test_load_demo_is_idempotent(app) -> None:
    parsed = parse_site_file(DEMO, TZ)
    first = apply_site(parsed)
    assert "+ location standesamt" in first.lines()
    assert "+ staff mmueller" in first.lines()
    assert "+ calendar staff:mmueller" in first.lines()
    assert len(first) == 32  # the demo's room for citizens and its calendar link (issue 16)
    second = apply_site(parse_site_file(DEMO, TZ))
    assert second.lines() == []
    assert second.summary() == "no changes"
    member = db.session.execute(select(StaffMember).where(StaffMember.key == "tschmidt")).scalar_one()
    assert member.calendar_key == "staff:tschmidt"
    assert {location.key for location in member.locations} == {"standesamt", "buergeramt"}
    link = db.session.execute(select(CalendarLink).where(CalendarLink.key == "room:sitzungssaal")).scalar_one()
    assert (link.owner_kind, link.secret_env, link.username) == ("room", "CALDAV_PASSWORD", "portal")
    settings = db.session.execute(select(SiteSettings)).scalar_one()
    assert settings.settings["booking"]["event_details"] == "service_and_code"
    assert settings.settings["spaces"]["desk_days_per_week"] == 3
    assert settings.settings["legal"]["impressum"]["de"].startswith("Stadt Musterhausen")


def test_update_is_reported(app) -> None:
    apply_site(parse_site_text(MINIMAL, TZ))
    changed = replace('duration_minutes = 15', 'duration_minutes = 20')
    changed = replace('name = "Anna A."', 'name = "Anna B."', changed)
    changed = replace('mon = ["08:00-12:00"]', 'mon = ["08:00-12:00"], tue = ["09:00-10:00"]', changed)
    report = apply_site(parse_site_text(changed, TZ))
    assert report.lines() == [
        "~ location amt: opening_hours.tue None -> ['09:00-10:00']",
        "~ service ausweis: duration_minutes 15 -> 20",
        "~ staff anna: name (changed)",
    ]
    assert report.summary() == "3 changes"


def test_missing_entries_are_deactivated_not_deleted(app) -> None:
    apply_site(parse_site_text(MINIMAL, TZ))
    before = counts()
    without = replace('[[staff]]', '[[nostaff]]').split("[[nostaff]]")[0]  # drops staff, floors, desks, rooms
    report = apply_site(parse_site_text(without, TZ))
    assert report.lines() == [
        "- staff anna (deactivated)",
        "- calendar staff:anna (deactivated)",
        "- floor eg (deactivated)",
        "- desk eg-01 (deactivated)",
        "- room raum (deactivated)",
    ]
    assert counts() == before
    member = db.session.execute(select(StaffMember).where(StaffMember.key == "anna")).scalar_one()
    assert member.active is False
    back = apply_site(parse_site_text(MINIMAL, TZ))
    assert "~ staff anna: active False -> True" in back.lines()
    assert apply_site(parse_site_text(MINIMAL, TZ)).lines() == []


def test_calendar_url_change_resets_discovery(app) -> None:
    apply_site(parse_site_text(MINIMAL, TZ))
    link = db.session.execute(select(CalendarLink).where(CalendarLink.key == "staff:anna")).scalar_one()
    link.resolved_url = "http://127.0.0.1:5232/anna/termine/"
    db.session.commit()
    moved = replace("http://127.0.0.1:5232/anna/termine/", "http://127.0.0.1:5232/anna/neu/")
    report = apply_site(parse_site_text(moved, TZ))
    assert report.lines()[0].startswith("~ calendar staff:anna: ")
    assert "url http://127.0.0.1:5232/anna/termine/ -> http://127.0.0.1:5232/anna/neu/" in report.lines()[0]
    assert db.session.get(CalendarLink, link.id).resolved_url is None


# --------------------------------------------------------------------------- CLI


def test_cli_check_and_load(app, tmp_path) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["site", "check", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert "OK: 2 locations, 4 services, 4 staff, 1 floors, 10 desks, 3 rooms" in result.output
    result = runner.invoke(args=["site", "load", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert "+ service geburtsurkunde" in result.output
    assert result.output.strip().endswith("32 changes")
    result = runner.invoke(args=["site", "load", str(DEMO)])
    assert result.output.strip().splitlines()[-1] == "no changes"


def test_cli_broken_file_changes_nothing(app, tmp_path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(DEMO.read_text().replace("duration_minutes = 15", 'duration_minutes = "15"', 1)
                      .replace('password_env = "CALDAV_PASSWORD"', 'password = "x"', 1))
    before = counts()
    runner = app.test_cli_runner()
    for command in ("check", "load"):
        result = runner.invoke(args=["site", command, str(broken)])
        assert result.exit_code == 1
        assert "services[geburtsurkunde].duration_minutes: must be a whole number, not the string '15'" in result.output
        assert "staff[mmueller].calendar.password: never write a password" in result.output
        assert "2 errors, nothing changed" in result.output
    assert counts() == before


def test_flask_site_load_twice_on_a_real_database(fresh_database_url, tmp_path) -> None:
    """The real command, real commits (advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PORTAL_DATABASE_URL": fresh_database_url, "PORTAL_INSTANCE_PATH": str(tmp_path),
           "FLASK_APP": "citizen_portal.app:create_app"}

    def load() -> list[str]:
        result = subprocess.run([sys.executable, "-m", "flask", "site", "load", str(DEMO)], env=env,
                                capture_output=True, text=True, cwd=DEMO.parents[1])
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()

    assert load()[-1] == "32 changes"
    assert load() == ["no changes"]


def test_links_of_other_owners_stay_active(app) -> None:
    """A calendar link made elsewhere (a desk user's own calendar) is not the site file's business."""
    db.session.add(CalendarLink(key="staff:desk-user", owner_kind="staff", owner_key="desk-user",
                                url="http://127.0.0.1:5232/desk-user/termine/", active=True))
    db.session.commit()
    report = apply_site(parse_site_text(MINIMAL, TZ))
    assert not any("desk-user" in line for line in report.lines())
    link = db.session.execute(select(CalendarLink).where(CalendarLink.key == "staff:desk-user")).scalar_one()
    assert link.active is True


@pytest.mark.parametrize(("line", "expected"), [
    ("contact = ", r"^site\.contact: missing"),
    ("legal.accessibility.", r"^site\.legal\.accessibility: missing"),
    ("legal.privacy = ", r"^site\.legal\.privacy: missing"),
])
def test_contact_and_legal_facts_are_required(line: str, expected: str) -> None:
    """BITV 2.0 § 7 and Art. 13 DSGVO: a file without the office's contact, the accessibility statement's
    feedback and enforcement facts or the privacy facts fails ``flask site check``."""
    text = "\n".join(row for row in MINIMAL.splitlines() if not row.startswith(line))
    assert any(re.search(expected, error) for error in errors_of(text)), errors_of(text)


def test_accessibility_needs_feedback_and_enforcement() -> None:
    text = "\n".join(row for row in MINIMAL.splitlines()
                     if not row.startswith(("legal.accessibility.feedback_email", "legal.accessibility.enforcement")))
    errors = errors_of(text)
    assert any(error.startswith("site.legal.accessibility.feedback_email: missing") for error in errors), errors
    assert any(error.startswith("site.legal.accessibility.enforcement: missing") for error in errors), errors
