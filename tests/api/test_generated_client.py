"""A real client works from the document alone: ``openapi-python-client`` (pinned in the test extras)
generates a Python package from the served ``/api/v1/openapi.json`` into ``tmp_path``; the test
imports it and, against the live server, searches free times, books, moves and cancels an
appointment (with the manage token it got) and books a desk (with a staff API token)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from citizen_portal.core.api_tokens import create_api_token
from citizen_portal.core.extensions import db
from tests.citizen_portal.booking.factories import make_setup
from tests.factories import make_user, not_a_holiday
from tests.staff_calendar.spaces.factories import make_desk, make_floor, open_day

BERLIN = ZoneInfo("Europe/Berlin")
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


def _generate(url: str, target: Path) -> None:
    run = subprocess.run([str(GENERATOR), "generate", "--url", f"{url}/api/v1/openapi.json?lang=en",
                          "--meta", "none", "--output-path", str(target)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (target / "api" / "appointments" / "create_appointment.py").exists(), run.stdout


def test_a_generated_client_books_moves_and_cancels_an_appointment_and_books_a_desk(live_server, tmp_path):
    day = not_a_holiday(datetime.now(BERLIN).date() + timedelta(days=3))
    desk_day = open_day(2)
    with live_server.app.app_context():
        location, service, _ = make_setup(holidays=None)
        desk = make_desk(make_floor())
        make_user("clerk", roles="staff")
        db.session.commit()
        staff_token = create_api_token("clerk", "generated client")
        db.session.commit()
        service_key, location_key, desk_key = service.key, location.key, desk.key

    _generate(live_server.url, tmp_path / "portal_client")
    sys.path.insert(0, str(tmp_path))
    try:
        client = importlib.import_module("portal_client")
        from portal_client.api.appointments import (
            cancel_appointment,
            create_appointment,
            move_appointment,
            service_slots,
            show_appointment,
        )
        from portal_client.api.desks import create_desk_booking, my_desk_bookings
        from portal_client.models import (
            AppointmentOut,
            BookedAppointmentOut,
            ChosenTime,
            DeskBookingInput,
            DeskBookingOut,
            NewAppointment,
            Problem,
        )

        anyone = client.AuthenticatedClient(base_url=live_server.url, token="-")  # public: the token is ignored
        slots = service_slots.sync(service_key, client=anyone, from_=day, to=day, location=location_key)
        assert len(slots.slots) >= 2
        first, second = slots.slots[0], slots.slots[1]

        booked = create_appointment.sync(client=anyone, body=NewAppointment(
            service=service_key, location=location_key, start=datetime.fromisoformat(first.start),
            name="Erika Mustermann", email="erika@example.org", privacy_consent=True))
        assert isinstance(booked, BookedAppointmentOut), booked
        assert booked.start == first.start and booked.manage_token

        citizen = client.AuthenticatedClient(base_url=live_server.url, token=booked.manage_token)
        moved = move_appointment.sync(booked.code, client=citizen,
                                      body=ChosenTime(start=datetime.fromisoformat(second.start)))
        assert isinstance(moved, AppointmentOut) and moved.start == second.start
        assert show_appointment.sync(booked.code, client=citizen).start == second.start
        cancelled = cancel_appointment.sync(booked.code, client=citizen)
        assert isinstance(cancelled, AppointmentOut) and cancelled.status == "cancelled"

        wrong = client.AuthenticatedClient(base_url=live_server.url, token="not-the-token")
        refused = show_appointment.sync(booked.code, client=wrong)
        assert isinstance(refused, Problem) and refused.status == 404  # errors parse as problem details

        staff = client.AuthenticatedClient(base_url=live_server.url, token=staff_token)
        desk_booking = create_desk_booking.sync(client=staff, body=DeskBookingInput(desk=desk_key, date=desk_day))
        assert isinstance(desk_booking, DeskBookingOut), desk_booking
        assert desk_booking.desk == desk_key and date.fromisoformat(desk_booking.date) == desk_day
        mine = my_desk_bookings.sync(client=staff, from_=desk_day, to=desk_day)
        assert [b.id for b in mine.bookings] == [desk_booking.id]
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name == "portal_client" or name.startswith("portal_client.")]:
            del sys.modules[name]
