"""Waiting list (issue 15.1): joining with double opt-in, the position band, leaving, the
per-address rule, the service setting, and clean-up. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from citizen_portal.booking.fairness import waiting_list
from citizen_portal.booking.fairness.models import BOOKED, LEFT, UNCONFIRMED, WAITING, WaitingEntry
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.security import token_hash
from tests.citizen_portal.booking.fairness.helpers import (
    NOW,
    TUESDAY,
    book,
    join,
    join_confirmed,
    link_token,
    local,
    setup,
)


def test_join_needs_the_double_opt_in_and_stores_tokens_hashed(app, smtp_sink):
    _, service, _ = setup()
    joined = join(service, "Erika.Muster+warte@Example.org", weekdays=[1], parts=["morning"])
    assert joined.entry.status == UNCONFIRMED
    assert waiting_list.people_ahead(joined.entry) == 0
    [message] = smtp_sink.wait_for(1)
    entry_id, token = link_token(message, "bestaetigen")
    assert entry_id == joined.entry.id and joined.entry.confirm_token_hash == token_hash(token)
    assert token not in str(joined.entry.confirm_token_hash)
    entry, manage_token = waiting_list.confirm_join(entry_id, token, now=NOW)
    assert entry.status == WAITING and entry.confirmed_at == NOW
    assert entry.preferences == {"locations": [], "weekdays": [1], "parts": ["morning"]}
    with pytest.raises(NotFound):  # the link works once
        waiting_list.confirm_join(entry_id, token, now=NOW)
    assert waiting_list.get_entry(entry_id, manage_token).id == entry_id
    with pytest.raises(NotFound):
        waiting_list.get_entry(entry_id, "wrong")


def test_one_entry_per_normalised_address(app, smtp_sink):
    _, service, _ = setup()
    first, _ = join_confirmed(service, "erika.muster@gmail.com")
    again = join(service, "ErikaMuster+bot7@googlemail.com")
    assert again.entry.id == first.id and again.confirm_token is None
    assert db.session.scalar(select(db.func.count(WaitingEntry.id))) == 1


def test_asking_again_within_minutes_sends_no_further_mail_and_the_first_link_still_works(app, smtp_sink):
    """Anyone can type any address: a bot repeating the join must flood neither the mailbox nor the
    mail queue (in the bench, 1,000 repeated joins delayed the humans' confirmation mails)."""
    _, service, _ = setup()
    smtp_sink.clear()
    first = join(service, "erika@example.org")
    for spelling in ("Erika@Example.org", "erika+again@example.org"):
        again = join(service, spelling, now=NOW + timedelta(minutes=4))
        assert again.entry.id == first.entry.id and again.confirm_token is None
    [mail] = smtp_sink.wait_for(1)
    smtp_sink.assert_no_mail_beyond(1)
    entry_id, token = link_token(mail, "bestaetigen")
    db.session.refresh(first.entry)
    assert first.entry.confirm_token_hash == token_hash(token)  # the first link still works
    later = join(service, "erika@example.org", now=NOW + timedelta(minutes=5))
    assert later.confirm_token is not None  # five minutes on: a fresh link (the old one is replaced)
    assert len(smtp_sink.wait_for(2)) == 2
    with pytest.raises(NotFound):
        waiting_list.confirm_join(entry_id, token, now=NOW + timedelta(minutes=6))
    assert waiting_list.confirm_join(entry_id, later.confirm_token, now=NOW + timedelta(minutes=6))[0].status == WAITING


def test_position_band_and_leaving(app, smtp_sink):
    _, service, _ = setup()
    entries = [join_confirmed(service, f"person{n}@example.org") for n in range(23)]
    last, _ = entries[-1]
    assert waiting_list.people_ahead(last) == 22
    assert waiting_list.position_band(22) == 20
    assert [waiting_list.position_band(n) for n in (0, 3, 7, 48, 123, 480)] == [0, 3, 5, 50, 120, 500]
    first, first_token = entries[0]
    waiting_list.leave(first.id, first_token, now=NOW)
    db.session.refresh(first)
    assert first.status == LEFT and first.email is None and first.email_hash is None
    assert waiting_list.people_ahead(last) == 21


def test_setting_off_and_when_full(app, smtp_sink):
    location, service, _ = setup(waiting_list="off")
    with pytest.raises(Conflict) as refused:
        join(service, "a@example.org")
    assert refused.value.code == "waiting_list_off"
    service.waiting_list = "when_full"
    db.session.commit()
    with pytest.raises(Conflict) as refused:  # times are free: book directly
        join(service, "a@example.org")
    assert refused.value.code == "slots_free"
    service.horizon_days = 1
    location.opening_hours = {day: ["08:00-08:30"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    db.session.commit()
    book(service, location, local(8, 0, NOW.date()), email="x@example.org")  # today (Monday) and
    book(service, location, local(8, 0), email="y@example.org")  # tomorrow: the whole horizon
    assert waiting_list.nothing_free(service, NOW)
    assert join(service, "a@example.org").entry.status == UNCONFIRMED


def test_unknown_preferred_location_is_invalid_and_nothing_stored(app, smtp_sink):
    _, service, _ = setup()
    with pytest.raises(Invalid) as refused:
        join(service, "a@example.org", locations=["nowhere"])
    assert "locations" in refused.value.fields
    assert db.session.scalar(select(db.func.count(WaitingEntry.id))) == 0


def test_address_with_an_appointment_cannot_join(app, smtp_sink):
    location, service, _ = setup()
    book(service, location, local(9, 0), email="erika@example.org")
    with pytest.raises(Conflict) as refused:
        join(service, "Erika@Example.org")
    assert refused.value.code == "limit_reached"


def test_clean_up_ends_unconfirmed_old_and_booked_elsewhere_entries(app, smtp_sink):
    location, service, _ = setup()
    unconfirmed = join(service, "late@example.org").entry
    booked_elsewhere, _ = join_confirmed(service, "booker@example.org")
    kept, _ = join_confirmed(service, "kept@example.org")
    book(service, location, local(9, 0, TUESDAY + timedelta(days=7)), email="booker@example.org")
    assert waiting_list.clean_up(now=NOW + timedelta(days=2)) == 2
    for entry in (unconfirmed, booked_elsewhere, kept):
        db.session.refresh(entry)
    assert unconfirmed.status == LEFT and booked_elsewhere.status == BOOKED and kept.status == WAITING
    assert booked_elsewhere.email is None
    assert waiting_list.clean_up(now=NOW + timedelta(days=91)) == 1  # retention (90 days)
    db.session.refresh(kept)
    assert kept.status == LEFT and kept.end_reason == "retention"
