"""Offers of freed times (issue 15.1): a cancellation withholds the time and offers it to the first
matching person; accept books it (mail, .ics, calendar outbox); expiry passes it on; nobody left
makes it public. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from citizen_portal.booking import services
from citizen_portal.booking.fairness import offers
from citizen_portal.booking.fairness.models import (
    ACCEPTED,
    BOOKED,
    EXPIRED,
    OFFERED,
    OPEN,
    WAITING,
    Reservation,
    WaitingOffer,
)
from citizen_portal.booking.models import CONFIRMED
from citizen_portal.core.errors import Conflict
from citizen_portal.core.extensions import db
from tests.citizen_portal.booking.factories import contact
from tests.citizen_portal.booking.fairness.helpers import NOW, book, join_confirmed, link_token, local, setup
from tests.fixtures.mail import body_text

NINE = local(9, 0)


def slot_starts(service, location, now=NOW):
    day = NINE.date()
    return [slot.start for slot in services.find_slots(service.key, day, day, location_key=location.key, now=now)]


def cancelled_nine(service, location, smtp_sink):
    """Book 09:00 for someone else and cancel it: the time is freed."""
    result = book(service, location, NINE, email="other@example.org")
    services.cancel(result.appointment.code, result.manage_token, now=NOW)
    return result.appointment


def offer_mails(smtp_sink, count):
    return [m for m in smtp_sink.wait_for(count) if "/angebot/" in body_text(m)]


def test_freed_time_goes_to_the_first_matching_person_and_accepting_books_it(app, smtp_sink):
    location, service, _ = setup(offer_hours=2)
    settings_delay = services.booking_settings().cancelled_slot_delay_minutes
    assert settings_delay > 0
    join_confirmed(service, "afternoon@example.org", parts=["afternoon"])
    join_confirmed(service, "wednesday@example.org", weekdays=[2])
    first, _ = join_confirmed(service, "first@example.org", parts=["morning"], weekdays=[1])
    second, _ = join_confirmed(service, "second@example.org")
    smtp_sink.clear()
    cancelled_nine(service, location, smtp_sink)
    [offer_mail] = offer_mails(smtp_sink, 2)  # the cancellation mail and one offer
    assert offer_mail["To"] == "first@example.org"
    offer_id, token = link_token(offer_mail, "angebot")
    offer = db.session.get(WaitingOffer, offer_id)
    assert offer.expires_at == NOW + timedelta(hours=2) and offer.status == OPEN
    assert first.status == OFFERED and second.status == WAITING
    assert NINE not in slot_starts(service, location)  # withheld from the public
    with pytest.raises(Conflict) as refused:
        book(service, location, NINE, email="fast@example.org")
    assert refused.value.code == "slot_taken"
    smtp_sink.clear()
    result = offers.accept(offer_id, token, now=NOW + timedelta(minutes=5))
    assert result.appointment.status == CONFIRMED and result.appointment.start_at == NINE
    assert result.appointment.email == "first@example.org"
    [confirmation] = smtp_sink.wait_for(1)
    assert result.appointment.code in confirmation["Subject"]
    calendars = [part for part in confirmation.walk() if part.get_content_type() == "text/calendar"]
    assert calendars and b"METHOD:REQUEST" in calendars[0].get_payload(decode=True)  # the .ics as every booking
    db.session.refresh(offer)
    db.session.refresh(first)
    assert offer.status == ACCEPTED and first.status == BOOKED and first.email is None
    assert db.session.scalar(select(db.func.count(Reservation.id))) == 0
    with pytest.raises(Conflict):  # once
        offers.accept(offer_id, token, now=NOW + timedelta(minutes=6))


def test_expired_offer_passes_to_the_next_then_the_time_becomes_public(app, smtp_sink):
    location, service, _ = setup(offer_hours=2)
    first, _ = join_confirmed(service, "first@example.org")
    join_confirmed(service, "second@example.org")
    smtp_sink.clear()
    cancelled_nine(service, location, smtp_sink)
    [first_offer] = offer_mails(smtp_sink, 2)
    first_id, first_token = link_token(first_offer, "angebot")
    smtp_sink.clear()
    assert offers.expire_offers(now=NOW + timedelta(hours=1)) == 0  # not yet
    assert offers.expire_offers(now=NOW + timedelta(hours=2)) == 1
    [second_offer] = offer_mails(smtp_sink, 1)
    assert second_offer["To"] == "second@example.org"
    db.session.refresh(first)
    assert first.status == WAITING  # keeps the place
    assert db.session.get(WaitingOffer, first_id).status == EXPIRED
    with pytest.raises(Conflict) as late:
        offers.accept(first_id, first_token, now=NOW + timedelta(hours=2, minutes=1))
    assert late.value.code == "offer_closed"
    later = NOW + timedelta(hours=4, minutes=1)
    assert offers.expire_offers(now=later) == 0  # the first already had this time: nobody left
    assert db.session.scalar(select(db.func.count(Reservation.id))) == 0
    assert NINE in slot_starts(service, location, later)  # public again (the cancel delay is long over)
    request = services.BookingRequest(service.key, location.key, NINE, contact(email="public@example.org"))
    assert services.book(request, now=later).appointment.start_at == NINE


def test_nobody_matching_leaves_the_time_to_the_public(app, smtp_sink):
    location, service, _ = setup()
    join_confirmed(service, "afternoon@example.org", parts=["afternoon"])
    smtp_sink.clear()
    cancelled_nine(service, location, smtp_sink)
    smtp_sink.wait_for(1)
    assert db.session.scalar(select(db.func.count(WaitingOffer.id))) == 0
    assert db.session.scalar(select(db.func.count(Reservation.id))) == 0


def test_someone_who_booked_elsewhere_is_skipped_and_removed(app, smtp_sink):
    location, service, _ = setup()
    elsewhere, _ = join_confirmed(service, "elsewhere@example.org")
    join_confirmed(service, "next@example.org")
    book(service, location, local(10, 0), email="elsewhere@example.org")
    smtp_sink.clear()
    cancelled_nine(service, location, smtp_sink)
    [offer_mail] = offer_mails(smtp_sink, 2)
    assert offer_mail["To"] == "next@example.org"
    db.session.refresh(elsewhere)
    assert elsewhere.status == BOOKED and elsewhere.end_reason == "booked_elsewhere"


def test_two_staff_members_freed_at_one_time_are_two_offers_and_both_can_book(app, smtp_sink):
    """Two appointments at 09:00 (two staff members) cancelled: two seats, two people get an offer,
    both book; the public never sees the time meanwhile and it is not withheld afterwards."""
    location, service, staff = setup(staff_count=2, offer_hours=2)
    join_confirmed(service, "first@example.org")
    join_confirmed(service, "second@example.org")
    third, _ = join_confirmed(service, "third@example.org")
    taken = [book(service, location, NINE, email=f"other{n}@example.org") for n in range(2)]
    smtp_sink.clear()
    for result in taken:
        services.cancel(result.appointment.code, result.manage_token, now=NOW)
    mails = offer_mails(smtp_sink, 4)  # two cancellation mails and two offers
    assert sorted(mail["To"] for mail in mails) == ["first@example.org", "second@example.org"]
    assert db.session.scalars(select(Reservation)).one().seats == 2
    assert NINE not in slot_starts(service, location)
    with pytest.raises(Conflict):
        book(service, location, NINE, email="fast@example.org")

    booked = [offers.accept(*link_token(mail, "angebot"), now=NOW + timedelta(minutes=5)) for mail in mails]
    assert {result.appointment.staff_id for result in booked} == {member.id for member in staff}
    assert all(result.appointment.start_at == NINE for result in booked)
    assert db.session.scalar(select(db.func.count(Reservation.id))) == 0
    db.session.refresh(third)
    assert third.status == WAITING  # nobody else was offered the time
