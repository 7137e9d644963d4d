"""Release windows and the lottery (issue 15.2): the day is withheld until drawn, one request per
normalised address, only confirmed requests count, a reproducible seeded allocation that respects
preferences and logs nothing personal, losers join the waiting list in one click. SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from citizen_portal.booking import services
from citizen_portal.booking.fairness import lottery
from citizen_portal.booking.fairness.models import DRAWN, WAITING, ReleaseRequest, ReleaseWindow
from citizen_portal.booking.fairness.schemas import JoinRequest
from citizen_portal.booking.models import CONFIRMED, Appointment
from citizen_portal.core.errors import Conflict
from citizen_portal.core.extensions import db
from citizen_portal.core.schemas import parse
from tests.citizen_portal.booking.factories import contact
from tests.citizen_portal.booking.fairness.helpers import NOW, local, setup

# NOW is Monday 07:00 local; windows open at 08:00 for the day 2 days ahead (Wednesday)
OPENS = NOW + timedelta(hours=1)
DURING = OPENS + timedelta(minutes=5)
AFTER = OPENS + timedelta(minutes=15)


def release_setup(staff_count: int = 1, **service_kw):
    location, service, _staff = setup(staff_count, release_days_ahead=2, release_hour=8, release_window_minutes=15,
                                     waiting_list="when_full", **service_kw)
    assert lottery.ensure_windows(now=NOW) == 2
    window = db.session.scalars(select(ReleaseWindow).where(ReleaseWindow.opens_at == OPENS)).one()
    return location, service, window


def ask(service, email, *, confirm=True, **preferences):
    data = parse(JoinRequest, {"name": "Erika", "email": email, "privacy_consent": True, **preferences})
    row, token = lottery.request_time(service.key, data, now=DURING)
    if confirm and token:
        lottery.confirm_request(row.id, token, now=DURING)
    return row


def day_starts(service, location, day, now):
    return [s.start for s in services.find_slots(service.key, day, day, location_key=location.key, now=now)]


def test_the_day_is_withheld_until_the_draw_and_nothing_is_first_come_first_served(app, smtp_sink):
    location, service, window = release_setup()
    assert window.day == (NOW + timedelta(days=2)).date()
    assert day_starts(service, location, window.day, DURING) == []
    assert day_starts(service, location, (NOW + timedelta(days=1)).date(), DURING)  # earlier days: released
    with pytest.raises(Conflict) as refused:
        services.book(services.BookingRequest(service.key, location.key, local(9, 0, window.day),
                                              contact()), now=DURING)
    assert refused.value.code == "slot_taken"
    lottery.draw(window.id, now=AFTER)
    assert len(day_starts(service, location, window.day, AFTER)) == 8  # 08:00-12:00, 30 minutes: public now


def test_requests_only_inside_the_window_and_one_per_normalised_address(app, smtp_sink):
    _, service, _window = release_setup()
    data = parse(JoinRequest, {"name": "B", "email": "b@example.org", "privacy_consent": True})
    with pytest.raises(Conflict) as early:
        lottery.request_time(service.key, data, now=NOW)
    assert early.value.code == "window_closed"
    first = ask(service, "erika.muster@gmail.com")
    again = ask(service, "Erika.Muster+bot1@googlemail.com")
    assert again.id == first.id
    assert db.session.scalar(select(db.func.count(ReleaseRequest.id))) == 1


def test_seeded_lottery_respects_preferences_is_reproducible_and_logs_nothing_personal(app, smtp_sink, caplog):
    _location, service, window = release_setup()
    people = [ask(service, f"p{n}@example.org", parts=["morning"]) for n in range(10)]
    unconfirmed = ask(service, "lazy@example.org", confirm=False)
    with caplog.at_level(logging.INFO, logger="citizen_portal.booking.fairness.lottery"):
        allocation = lottery.draw(window.id, now=AFTER, seed="fixed-seed")
    assert lottery.draw(window.id, now=AFTER) == []  # once
    db.session.refresh(window)
    assert window.status == DRAWN and window.seed == "fixed-seed" and window.allocation == allocation
    order = lottery.allocation_order("fixed-seed", [p.id for p in people])
    assert [request_id for request_id, _ in allocation] == order  # replayable from the seed
    assert unconfirmed.id not in order
    won = [start for _, start in allocation if start]
    assert len(won) == 8 and len(set(won)) == 8  # eight morning times, ten people
    booked = db.session.scalars(select(Appointment).where(Appointment.status == CONFIRMED)).all()
    assert sorted(a.start_at.isoformat() for a in booked) == sorted(won)
    text = caplog.text
    assert "fixed-seed" in text and "@example.org" not in text and "Erika" not in text


def test_asking_again_within_minutes_sends_no_second_link(app, smtp_sink):
    _, service, _window = release_setup()
    smtp_sink.clear()
    first = ask(service, "erika@example.org", confirm=False)
    again = ask(service, "Erika+bot@Example.org", confirm=False)
    assert again.id == first.id
    smtp_sink.wait_for(1)
    smtp_sink.assert_no_mail_beyond(1)


def test_a_time_with_two_free_staff_members_goes_to_two_people(app, smtp_sink):
    _location, service, window = release_setup(staff_count=2)
    people = [ask(service, f"p{n}@example.org", parts=["morning"]) for n in range(18)]
    allocation = lottery.draw(window.id, now=AFTER, seed="two-seats")
    won = [start for _, start in allocation if start]
    assert len(won) == 16  # eight morning times × two staff members, eighteen people
    assert all(won.count(start) == 2 for start in won)
    assert len(allocation) == len(people)


def test_losers_join_the_waiting_list_in_one_click(app, smtp_sink):
    from tests.citizen_portal.booking.fairness.helpers import link_token

    _, service, window = release_setup()
    people = [ask(service, f"p{n}@example.org") for n in range(9)]
    smtp_sink.clear()
    lottery.draw(window.id, now=AFTER, seed="s")
    loser = db.session.scalars(select(ReleaseRequest).where(ReleaseRequest.result == "lost")).one()
    assert loser.id in [p.id for p in people]
    mails = smtp_sink.wait_for(9 + 8)  # 9 results, 8 booking confirmations
    [result] = [m for m in mails if "/aus-losung/" in m.get_body(preferencelist=("plain",)).get_content()]
    request_id, token = link_token(result, "aus-losung")
    entry, _ = lottery.join_from_lottery(request_id, token, now=AFTER)
    assert entry.status == WAITING and entry.service_id == service.id
    assert lottery.join_from_lottery(request_id, token, now=AFTER)[0].id == entry.id
