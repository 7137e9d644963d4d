"""Release windows and their lottery.

Rules:
- A service with ``release_days_ahead = N`` releases each local day's times N days ahead: the
  window for day ``D + N`` collects requests on day ``D`` from ``release_hour`` for
  ``release_window_minutes`` (``ensure_windows``, a job, creates the windows of today and tomorrow).
  Until its window is drawn a day is withheld from first-come-first-served booking (``hooks.withheld``).
- One request per normalised address and window (database key); asking again re-sends the link
  (at most every ``waiting_list.LINK_RESEND_MINUTES``).
  A request counts only after its double opt-in link, followed before the draw. An address with an
  active appointment of the service cannot ask (``Conflict("limit_reached")``). Outside a window:
  ``Conflict("window_closed")``.
- ``draw`` (job, once the window closed): a random seed is claimed under the service's lock (a
  second drawer finds it and stops); the confirmed requests, ordered by id, are shuffled with
  ``random.Random(seed)``; in that order each gets the earliest free time of the day that suits its
  preferences (a time has one seat per staff member free then), booked through
  ``booking.services.book`` with a ``FairPass`` (mail, .ics, calendar).
  The seed and the allocation ``[[request id, start or null], ...]`` are stored and logged, nothing
  personal: anyone with the request ids can replay the order (``allocation_order``). Then the day is
  public.
- Those not drawn get a one-click link to the waiting list (``join_from_lottery``).
"""

from __future__ import annotations

import logging
import random
import secrets
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from citizen_portal.booking.fairness import mails
from citizen_portal.booking.fairness.hooks import FairPass
from citizen_portal.booking.fairness.models import (
    COLLECTING,
    DRAWN,
    ENTRY_ACTIVE,
    WAITING,
    ReleaseRequest,
    ReleaseWindow,
    WaitingEntry,
)
from citizen_portal.booking.fairness.offers import matches
from citizen_portal.booking.fairness.schemas import JoinRequest
from citizen_portal.booking.fairness.waiting_list import check_preferences, has_active_appointment, link_due
from citizen_portal.booking.models import Service
from citizen_portal.booking.schemas import Contact
from citizen_portal.booking.services.codes import email_hash
from citizen_portal.booking.services.slot_engine import load_service, plan
from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Conflict, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, site_timezone
from citizen_portal.core.security import new_token, same, token_hash

log = logging.getLogger(__name__)


def _window_times(service: Service, on: date) -> tuple[datetime, datetime]:
    opens = datetime.combine(on, time(service.release_hour), tzinfo=site_timezone()).astimezone(UTC)
    return opens, opens + timedelta(minutes=service.release_window_minutes)


def ensure_windows(*, now: datetime | None = None) -> int:
    """Job: create the release windows of today and tomorrow for every service with release
    windows. Returns how many were created."""
    now = now or datetime.now(UTC)
    today = now.astimezone(site_timezone()).date()
    created = 0
    for service in db.session.scalars(select(Service).where(
            Service.active.is_(True), Service.release_days_ahead.is_not(None))).all():
        with write_transaction(locks.waiting_list(service.id)):
            for on in (today, today + timedelta(days=1)):
                day = on + timedelta(days=service.release_days_ahead)
                if db.session.scalars(select(ReleaseWindow).where(
                        ReleaseWindow.service_id == service.id, ReleaseWindow.day == day)).first() is None:
                    opens, closes = _window_times(service, on)
                    db.session.add(ReleaseWindow(service_id=service.id, day=day, opens_at=opens, closes_at=closes))
                    created += 1
    return created


def open_window(service: Service, now: datetime) -> ReleaseWindow | None:
    """The service's window collecting requests at ``now``, if any."""
    return db.session.scalars(select(ReleaseWindow).where(
        ReleaseWindow.service_id == service.id, ReleaseWindow.status == COLLECTING,
        ReleaseWindow.opens_at <= now, ReleaseWindow.closes_at > now)).first()


def next_window(service: Service, now: datetime) -> ReleaseWindow | None:
    """The next window not yet drawn (open now or later), for the pages."""
    return db.session.scalars(select(ReleaseWindow).where(
        ReleaseWindow.service_id == service.id, ReleaseWindow.status == COLLECTING,
        ReleaseWindow.closes_at > now).order_by(ReleaseWindow.opens_at)).first()


def request_time(service_key: str, data: JoinRequest, *, language: str = "de",
                 now: datetime | None = None) -> tuple[ReleaseRequest, str | None]:
    """Ask for a time in the open window (see the module docstring); mails the confirmation link.
    Returns the request and the token (``None`` when an earlier, confirmed request stands)."""
    now = now or datetime.now(UTC)
    service = load_service(service_key)
    window = open_window(service, now)
    if window is None:
        raise Conflict(_l("Zurzeit werden keine Anfragen angenommen. Bitte kommen Sie zur nächsten "
                          "Terminvergabe wieder."), code="window_closed")
    check_preferences(service, data)
    digest = email_hash(data.email)
    token = new_token(24)
    with write_transaction(locks.waiting_list(service.id), locks.booking_email(digest)):
        if has_active_appointment(digest, service.id, now):
            problem = _l("Sie haben für diese Leistung bereits einen Termin.")
            raise Conflict(problem, code="limit_reached", fields={"email": problem})
        row = db.session.scalars(select(ReleaseRequest).where(
            ReleaseRequest.window_id == window.id, ReleaseRequest.email_hash == digest)).first()
        if row is None:
            row = ReleaseRequest(window_id=window.id, email_hash=digest, created_at=now)
            db.session.add(row)
        confirmed = row.confirmed_at is not None
        if not confirmed and not link_due(row, now):  # asked again within minutes: the earlier link stands
            return row, None
        if not confirmed:
            row.token_hash = token_hash(token)
            row.preferences, row.name, row.email, row.language = data.as_json(), data.name, data.email, language
        db.session.flush()
    if confirmed:
        return row, None
    mails.request_confirmation(row, service, token)
    return row, token


def _request(request_id: int, token: str | None) -> ReleaseRequest:
    row = db.session.get(ReleaseRequest, request_id)
    if row is None or not token or not same(row.token_hash, token_hash(token)):
        raise NotFound(_l("Diese Anfrage gibt es nicht, oder der Link ist nicht mehr gültig."))
    return row


def confirm_request(request_id: int, token: str, *, now: datetime | None = None) -> ReleaseRequest:
    """The double opt-in of a request; only before the draw (else ``Conflict("window_closed")``)."""
    now = now or datetime.now(UTC)
    row = _request(request_id, token)
    with write_transaction(locks.waiting_list(row.window.service_id)):
        row = _request(request_id, token)
        if row.window.status != COLLECTING:
            raise Conflict(_l("Die Verlosung ist bereits vorbei."), code="window_closed")
        row.confirmed_at = row.confirmed_at or now
    return row


def allocation_order(seed: str, request_ids: list[int]) -> list[int]:
    """The lottery: ``request_ids`` sorted, shuffled by ``random.Random(seed)`` (reproducible)."""
    order = sorted(request_ids)
    random.Random(seed).shuffle(order)
    return order


def draw(window_id: int, *, now: datetime | None = None, seed: str | None = None) -> list[list]:
    """Allocate a closed window's day (see the module docstring). Returns the allocation; an empty
    list when the window is not closed yet or already claimed by another drawer."""
    from citizen_portal.booking.services import BookingRequest, book

    now = now or datetime.now(UTC)
    window = db.session.get(ReleaseWindow, window_id)
    if window is None or window.closes_at > now or window.status != COLLECTING:
        return []
    with write_transaction(locks.waiting_list(window.service_id)):
        window = db.session.get(ReleaseWindow, window_id)
        if window.seed is not None:
            return []
        window.seed = seed or secrets.token_hex(16)
    service, fair_pass = window.service, FairPass(window_id=window.id)
    requests = {row.id: row for row in db.session.scalars(select(ReleaseRequest).where(
        ReleaseRequest.window_id == window.id, ReleaseRequest.confirmed_at.is_not(None)))}
    free = plan(service, window.day, window.day, now=now, fair_pass=fair_pass).slots
    booked: Counter[tuple[str, datetime]] = Counter()  # per time: one seat per free staff member
    full: set[tuple[str, datetime]] = set()
    allocation: list[list] = []
    results: list[tuple[int, datetime | None]] = []
    for request_id in allocation_order(window.seed, list(requests)):
        row, won = requests[request_id], None
        for slot in free:
            time_key = (slot.location_key, slot.start)
            if time_key in full or not matches(row.preferences or {}, slot.location_key, slot.start):
                continue
            try:
                book(BookingRequest(service.key, slot.location_key, slot.start,
                                    Contact(name=row.name or "-", email=row.email or "", privacy_consent=True),
                                    language=row.language, fair_pass=fair_pass), now=now)
            except Conflict as error:
                if error.code != "slot_taken":
                    break  # e.g. the address booked meanwhile: no time for this request
                full.add(time_key)
                continue
            booked[time_key] += 1
            if booked[time_key] >= max(len(slot.staff_ids), 1):
                full.add(time_key)
            won = slot.start
            break
        allocation.append([request_id, won.isoformat() if won else None])
        results.append((request_id, won))
    tokens: dict[int, str] = {}
    with write_transaction(locks.waiting_list(window.service_id)):
        window = db.session.get(ReleaseWindow, window_id)
        window.status, window.allocation, window.drawn_at = DRAWN, allocation, now
        for request_id, won in results:
            row = db.session.get(ReleaseRequest, request_id)
            row.result = "won" if won else "lost"
            if won is None:
                tokens[request_id] = new_token(24)
                row.token_hash = token_hash(tokens[request_id])
    log.info("release window %s drawn: seed=%s allocation=%s", window_id, window.seed, allocation)
    for request_id, won in results:
        mails.lottery_result(db.session.get(ReleaseRequest, request_id), service, won, tokens.get(request_id))
    return allocation


def draw_due(*, now: datetime | None = None) -> int:
    """Job: draw every window that has closed. Returns how many were drawn."""
    now = now or datetime.now(UTC)
    due = db.session.scalars(select(ReleaseWindow.id).where(
        ReleaseWindow.status == COLLECTING, ReleaseWindow.closes_at <= now)).all()
    for window_id in due:
        draw(window_id, now=now)
    return len(due)


def join_from_lottery(request_id: int, token: str, *, now: datetime | None = None) -> tuple[WaitingEntry, str]:
    """One click from the result mail of a request not drawn: a confirmed waiting-list entry with
    the request's preferences (the address was verified for the request); returns it and a fresh
    status/leave token. Idempotent."""
    now = now or datetime.now(UTC)
    manage_token = new_token(24)
    row = _request(request_id, token)
    if row.result != "lost":
        raise NotFound()
    service_id = row.window.service_id
    with write_transaction(locks.waiting_list(service_id)):
        entry = db.session.scalars(select(WaitingEntry).where(
            WaitingEntry.service_id == service_id, WaitingEntry.email_hash == row.email_hash,
            WaitingEntry.status.in_(ENTRY_ACTIVE))).first()
        if entry is None:
            entry = WaitingEntry(service_id=service_id, status=WAITING, preferences=row.preferences,
                                 language=row.language, name=row.name, email=row.email, email_hash=row.email_hash,
                                 created_at=now, confirmed_at=now)
            db.session.add(entry)
        entry.manage_token_hash = token_hash(manage_token)
        db.session.flush()
    mails.status_link(entry, manage_token)
    return entry, manage_token
