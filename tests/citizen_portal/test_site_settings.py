"""The one declaration of every site setting: a fresh database and a loaded one read the same defaults,
settings written in the site file reach their readers, and the README's tables are the models'."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from citizen_portal.booking.models import Location, Service, StaffMember
from citizen_portal.booking.services import booking_settings
from citizen_portal.booking.settings import SERVICE_DEFAULTS, BookingSettings
from citizen_portal.core.extensions import db
from citizen_portal.core.models import SiteSettings
from citizen_portal.site.schema import parse_site_text, reference
from citizen_portal.site.services import apply_site
from staff_calendar.spaces.models import Desk, Floor, Room
from staff_calendar.spaces.services import bookable
from staff_calendar.spaces.services.common import load_settings, local_moment
from staff_calendar.spaces.settings import DEFAULT_ROOM_HOURS, SpacesSettings, parse_range
from tests.citizen_portal.test_site import DEMO, MINIMAL, TZ, errors_of, replace

# MINIMAL without any key that may be left out
BARE = "\n".join(line for line in MINIMAL.splitlines()
                 if not line.startswith(("timezone", "holidays", "opening_hours", "calendar")))


def _optional_values(row: object) -> dict[str, object]:
    """A row's columns except its identity, required values and links to other rows."""
    skip = {"id", "key", "name", "duration_minutes", "floor_id", "calendar_key", "active"}
    return {column.key: getattr(row, column.key) for column in row.__table__.columns if column.key not in skip}


def test_a_fresh_and_a_loaded_database_read_the_same_defaults(app) -> None:
    """Every setting a site file may leave out reads the same before any file is loaded (no site row;
    rows made with their required values only, as the admin pages and factories do) as after loading a
    file that leaves it out."""
    fresh_booking, fresh_spaces = booking_settings(), load_settings()
    floor = Floor(key="fresh-floor", name={"de": "F"})
    db.session.add(floor)
    db.session.flush()
    fresh = [Location(key="fresh", name={"de": "L"}), Service(key="fresh", name={"de": "S"}, duration_minutes=15),
             StaffMember(key="fresh", name="M"), floor, Desk(key="fresh", floor_id=floor.id),
             Room(key="fresh", floor_id=floor.id, name={"de": "R"})]
    db.session.add_all(fresh)
    db.session.commit()
    apply_site(parse_site_text(BARE, TZ))

    assert fresh_booking == booking_settings() == BookingSettings()
    assert fresh_spaces.settings == load_settings().settings == SpacesSettings()
    stored = db.session.execute(select(SiteSettings)).scalar_one().settings
    assert (stored["booking"], stored["spaces"]) == (BookingSettings().model_dump(), SpacesSettings().model_dump())
    for row in fresh:
        loaded = db.session.execute(select(type(row)).where(type(row).key != "fresh", type(row).key != "fresh-floor")
                                    ).scalar_one()
        assert _optional_values(row) == _optional_values(loaded), type(row).__name__
    service = db.session.execute(select(Service).where(Service.key == "ausweis")).scalar_one()
    assert {key: getattr(service, key) for key in SERVICE_DEFAULTS} == SERVICE_DEFAULTS
    monday = date(2030, 1, 7)
    fresh_room, loaded_room = (bookable.room_hours(load_settings(), room, monday)
                               for room in db.session.execute(select(Room).order_by(Room.key)).scalars())
    assert fresh_room == loaded_room == [(local_moment(monday, start), local_moment(monday, end))
                                         for start, end in map(parse_range, DEFAULT_ROOM_HOURS)]


def test_slot_step_minutes_can_be_set_in_the_site_file(app) -> None:
    text = replace('holidays = "BW"', 'holidays = "BW"\nbooking = { slot_step_minutes = 10 }')
    apply_site(parse_site_text(text, TZ))
    assert booking_settings().slot_step_minutes == 10
    assert errors_of(replace('holidays = "BW"', 'holidays = "BW"\nbooking = { slot_step_minutes = 3 }')) == [
        "site.booking.slot_step_minutes: must be between 5 and 240, not 3"]


def test_spaces_extras_and_site_closures_reach_the_desk_rules(app) -> None:
    """Keys read by staff_calendar.spaces are accepted by the site file and stored for it."""
    text = replace('name = "Stadt Testhausen"', 'name = "Stadt Testhausen"\nclosures = ["2026-12-24"]\n'
                   'spaces = { morning = "07:30-12:00", occupancy_min_count = 5, series_horizon_days = 56 }')
    apply_site(parse_site_text(text, TZ))
    context = load_settings()
    assert context.settings.morning == "07:30-12:00"
    assert context.settings.occupancy_min_count == 5
    assert context.series_horizon_days == 56
    assert date(2026, 12, 24) in context.closed_days()


def test_readme_tables_are_generated_from_the_models(tmp_path) -> None:
    readme = DEMO.parents[1] / "README.md"
    assert reference.tables() in readme.read_text(encoding="utf-8"), (
        "README.md's site-file tables differ from the models: python -m citizen_portal.site.schema.reference "
        "--write README.md")
    stale = tmp_path / "README.md"
    stale.write_text(readme.read_text(encoding="utf-8").replace("| `hold_minutes` | 1–120 |", "| `hold_minutes` | 2 |"))
    reference.write(stale)
    assert stale.read_text(encoding="utf-8") == readme.read_text(encoding="utf-8")
