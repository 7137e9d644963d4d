"""Race (issue 15, "done when"): a freed time offered to two people at once (group of two), both
accept at the same moment on real connections with real commits → exactly one books it; the other
gets ``offer_lost``, stays on the list with priority and receives the next matching offer before
someone who joined earlier. Runs on the suite's database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from citizen_portal.booking import services
from citizen_portal.booking.fairness import offers
from citizen_portal.booking.fairness.models import ACCEPTED, LOST, WAITING, WaitingEntry, WaitingOffer
from citizen_portal.booking.models import CONFIRMED, Appointment
from citizen_portal.core.errors import Conflict
from citizen_portal.core.extensions import db
from tests.citizen_portal.booking.fairness.helpers import NOW, book, join_confirmed, link_token, local, setup
from tests.factories import build_app
from tests.fixtures.mail import body_text

OPEN_ALL_DAY = {day: ["08:00-16:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def offers_in(sink, since: int) -> dict[str, tuple[int, str]]:
    return {m["To"]: link_token(m, "angebot") for m in sink.messages[since:] if "/angebot/" in body_text(m)}


def test_two_accept_one_time_at_once_one_wins_the_other_gets_the_next_offer(fresh_database_url, tmp_path,
                                                                            smtp_sink):
    instance = tmp_path / "instance"
    instance.mkdir()
    app = build_app(fresh_database_url, instance, **smtp_sink.config)
    with app.app_context():
        location, service, _ = setup(offer_group_size=2)
        location.opening_hours = dict(OPEN_ALL_DAY)
        db.session.commit()
        join_confirmed(service, "early@example.org", parts=["afternoon"])  # joined first, afternoons only
        join_confirmed(service, "anna@example.org", weekdays=[1])
        join_confirmed(service, "bert@example.org")
        nine = book(service, location, local(9, 0), email="x@example.org")
        two = book(service, location, local(14, 0), email="y@example.org")
        two_code, two_token = two.appointment.code, two.manage_token
        sent = len(smtp_sink.wait_for(8))  # 3 opt-in, 3 status, 2 booking mails
        services.cancel(nine.appointment.code, nine.manage_token, now=NOW)
        smtp_sink.wait_for(sent + 3)
        offered = offers_in(smtp_sink, sent)
        assert set(offered) == {"anna@example.org", "bert@example.org"}
        db.session.remove()

    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def accept(person: str) -> None:
        offer_id, token = offered[person]
        with app.app_context():
            barrier.wait()
            try:
                offers.accept(offer_id, token, now=NOW + timedelta(minutes=1))
                outcomes[person] = "booked"
            except Conflict as error:
                outcomes[person] = error.code
            finally:
                db.session.remove()

    threads = [threading.Thread(target=accept, args=(person,)) for person in offered]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes.values()) == ["booked", "offer_lost"], outcomes
    winner = next(person for person, outcome in outcomes.items() if outcome == "booked")
    loser = next(person for person in outcomes if person != winner)

    with app.app_context():
        booked = db.session.scalars(select(Appointment).where(
            Appointment.start_at == local(9, 0), Appointment.status == CONFIRMED)).all()
        assert [appointment.email for appointment in booked] == [winner]
        statuses = {db.session.get(WaitingOffer, offered[p][0]).status for p in offered}
        assert statuses == {ACCEPTED, LOST}
        loser_entry = db.session.get(WaitingOffer, offered[loser][0]).entry
        assert loser_entry.status == WAITING and loser_entry.priority == 1
        # the next freed time (14:00, an afternoon: "early" matches too and joined first) goes to the loser first
        service = loser_entry.service
        service.offer_group_size = 1
        db.session.commit()
        sent = len(smtp_sink.messages)
        services.cancel(two_code, two_token, now=NOW + timedelta(minutes=2))
        smtp_sink.wait_for(sent + 2)
        assert list(offers_in(smtp_sink, sent)) == [loser]
        assert db.session.scalar(select(func.count(WaitingEntry.id)).where(WaitingEntry.status == WAITING)) == 1
        db.session.remove()
        db.engine.dispose()
