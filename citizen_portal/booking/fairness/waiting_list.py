"""The waiting list of a service: join (double opt-in), confirm, status with a position band, leave,
and the clean-up job.

Rules:
- A service's ``waiting_list`` setting: ``off`` (no list: ``Conflict("waiting_list_off")``),
  ``when_full`` (joinable only while nothing is free within the horizon: ``Conflict("slots_free")``)
  or ``always``. Preferred locations must be locations offering the service (``Invalid``).
- One entry per normalised address and service (``booking.services.codes.email_hash``): joining
  again while unconfirmed or on the list sends a fresh link instead of a second entry, at most one
  link mail per ``LINK_RESEND_MINUTES`` (``link_due``: anyone can type any address, so asking again
  must neither flood a mailbox nor the mail queue; the earlier link stays valid meanwhile); an address
  with an active appointment for the service cannot join (``Conflict("limit_reached")``).
- An entry counts only after its double opt-in link (``confirm_join``); tokens are stored as SHA-256.
- Position: entries waiting or offered, ordered by ``priority`` (desc), ``confirmed_at``, ``id``;
  shown as a band (``position_band``), never the exact place.
- Ended entries (left, booked, removed) lose their personal data at once. ``clean_up`` ends
  unconfirmed entries after a day, entries older than ``waiting_list_retention_days``, and entries
  whose address booked the service elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select

from citizen_portal.booking.fairness import mails
from citizen_portal.booking.fairness.models import (
    BOOKED,
    ENTRY_ACTIVE,
    LEFT,
    OFFERED,
    UNCONFIRMED,
    WAITING,
    ReleaseRequest,
    WaitingEntry,
)
from citizen_portal.booking.fairness.schemas import JoinRequest, Preferences
from citizen_portal.booking.models import CONFIRMED, PENDING, Appointment, Service
from citizen_portal.booking.services.codes import email_hash
from citizen_portal.booking.services.slot_engine import booking_settings, load_service, plan
from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, site_timezone
from citizen_portal.core.security import new_token, same, token_hash

UNCONFIRMED_DAYS = 1


@dataclass
class Joined:
    """``confirm_token`` (double opt-in) is mailed, never shown; ``None`` when nothing was created."""

    entry: WaitingEntry | None
    confirm_token: str | None


def has_active_appointment(digest: str, service_id: int, now: datetime) -> bool:
    """Whether the address holds an active (confirmed or living hold), upcoming appointment of the service."""
    return bool(db.session.scalar(select(func.count(Appointment.id)).where(
        Appointment.email_hash == digest, Appointment.service_id == service_id,
        Appointment.status.in_((PENDING, CONFIRMED)), Appointment.end_at > now,
        (Appointment.status != PENDING) | (Appointment.hold_expires_at > now))))


def nothing_free(service: Service, now: datetime) -> bool:
    """Whether no time of the service is free for the public within its horizon."""
    today = now.astimezone(site_timezone()).date()
    return not plan(service, today, today + timedelta(days=service.horizon_days), now=now).slots


def waiting_list_open(service: Service, now: datetime) -> bool:
    """Whether a citizen may join now (the service's ``waiting_list`` setting)."""
    return service.waiting_list == "always" or (service.waiting_list == "when_full" and nothing_free(service, now))


def check_preferences(service: Service, preferences: Preferences) -> None:
    offered = {location.key for location in service.locations if location.active}
    unknown = [key for key in preferences.locations if key not in offered]
    if unknown:
        problem = _l("Bitte wählen Sie nur Standorte, die diese Leistung anbieten.")
        raise Invalid(problem, fields={"locations": problem})


LINK_RESEND_MINUTES = 5


def link_due(row: WaitingEntry | ReleaseRequest, now: datetime) -> bool:
    """Inside the caller's lock: whether a link mail may go to this entry or request now (the first,
    or ``LINK_RESEND_MINUTES`` after the last); records the sending when it may."""
    if row.link_sent_at is not None and now - row.link_sent_at < timedelta(minutes=LINK_RESEND_MINUTES):
        return False
    row.link_sent_at = now
    return True


def join(service_key: str, data: JoinRequest, *, language: str = "de", now: datetime | None = None) -> Joined:
    """Put an address on the service's waiting list, unconfirmed, and mail the double opt-in link
    (see the module docstring for the rules). Joining again sends a fresh link for the same entry."""
    now = now or datetime.now(UTC)
    service = load_service(service_key)
    if service.waiting_list == "off":
        raise Conflict(_l("Für diese Leistung gibt es keine Warteliste."), code="waiting_list_off")
    if not waiting_list_open(service, now):
        raise Conflict(_l("Es sind noch Termine frei. Bitte buchen Sie direkt."), code="slots_free")
    check_preferences(service, data)
    digest = email_hash(data.email)
    confirm_token, manage_token = new_token(24), new_token(24)
    with write_transaction(locks.waiting_list(service.id), locks.booking_email(digest)):
        if has_active_appointment(digest, service.id, now):
            problem = _l("Sie haben für diese Leistung bereits einen Termin.")
            raise Conflict(problem, code="limit_reached", fields={"email": problem})
        entry = db.session.scalars(select(WaitingEntry).where(
            WaitingEntry.service_id == service.id, WaitingEntry.email_hash == digest,
            WaitingEntry.status.in_((UNCONFIRMED, *ENTRY_ACTIVE)))).first()
        if entry is None:
            entry = WaitingEntry(service_id=service.id, status=UNCONFIRMED, email_hash=digest, created_at=now)
            db.session.add(entry)
        if not link_due(entry, now):
            return Joined(entry, None)
        if entry.status == UNCONFIRMED:
            entry.confirm_token_hash = token_hash(confirm_token)
            entry.preferences, entry.name, entry.email, entry.language = data.as_json(), data.name, data.email, language
        else:  # already on the list: a fresh status link, nothing else changes
            entry.manage_token_hash = token_hash(manage_token)
        db.session.flush()
        unconfirmed = entry.status == UNCONFIRMED
    if unconfirmed:
        mails.join_confirmation(entry, confirm_token)
        return Joined(entry, confirm_token)
    mails.status_link(entry, manage_token)
    return Joined(entry, None)


def _entry(entry_id: int, token: str | None, stored: str) -> WaitingEntry:
    entry = db.session.get(WaitingEntry, entry_id)
    if entry is None or not token or not same(getattr(entry, stored), token_hash(token)):
        raise NotFound(_l("Diesen Eintrag gibt es nicht, oder der Link ist nicht mehr gültig."))
    return entry


def confirm_join(entry_id: int, token: str, *, now: datetime | None = None) -> tuple[WaitingEntry, str]:
    """The double opt-in: the entry joins the list (its place counts from now). Returns the entry
    and its status/leave token (shown and mailed). A used or wrong link: ``NotFound``."""
    now = now or datetime.now(UTC)
    entry = _entry(entry_id, token, "confirm_token_hash")
    manage_token = new_token(24)
    with write_transaction(locks.waiting_list(entry.service_id)):
        entry = _entry(entry_id, token, "confirm_token_hash")
        entry.status, entry.confirmed_at = WAITING, now
        entry.confirm_token_hash, entry.manage_token_hash = None, token_hash(manage_token)
    mails.status_link(entry, manage_token)
    return entry, manage_token


def get_entry(entry_id: int, manage_token: str | None) -> WaitingEntry:
    """The entry behind a status link; ``NotFound`` for a wrong token."""
    return _entry(entry_id, manage_token, "manage_token_hash")


def people_ahead(entry: WaitingEntry) -> int:
    """How many people are ahead of ``entry`` on its service's list (see the module docstring)."""
    if entry.status not in ENTRY_ACTIVE:
        return 0
    return db.session.scalar(select(func.count(WaitingEntry.id)).where(
        WaitingEntry.service_id == entry.service_id, WaitingEntry.status.in_(ENTRY_ACTIVE),
        or_(WaitingEntry.priority > entry.priority,
            (WaitingEntry.priority == entry.priority) & or_(
                WaitingEntry.confirmed_at < entry.confirmed_at,
                (WaitingEntry.confirmed_at == entry.confirmed_at) & (WaitingEntry.id < entry.id))))) or 0


def position_band(ahead: int) -> int:
    """The number shown for ``ahead`` people: exact below 5, then rounded to 5 (below 50), to 10
    (below 200) and to 50: "about 20 people ahead of you"."""
    if ahead < 5:
        return ahead
    step = 5 if ahead < 50 else 10 if ahead < 200 else 50
    return int(round(ahead / step) * step)


def end_entry(entry: WaitingEntry, status: str, reason: str, now: datetime) -> None:
    """End an entry (inside the caller's transaction): status, reason, personal data erased."""
    entry.status, entry.end_reason, entry.ended_at = status, reason, now
    entry.name = entry.email = entry.email_hash = None
    entry.confirm_token_hash = entry.manage_token_hash = None


def leave(entry_id: int, manage_token: str, *, now: datetime | None = None) -> None:
    """Leave the list by the status link; an open offer of the entry is withdrawn (the next person
    gets it at the job's next run)."""
    from citizen_portal.booking.fairness.offers import withdraw_open_offers

    now = now or datetime.now(UTC)
    entry = get_entry(entry_id, manage_token)
    with write_transaction(locks.waiting_list(entry.service_id)):
        entry = get_entry(entry_id, manage_token)
        withdraw_open_offers(entry, now)
        end_entry(entry, LEFT, "left", now)


def clean_up(*, now: datetime | None = None) -> int:
    """Job: end unconfirmed entries after a day, entries past the retention, and entries whose
    address booked the service elsewhere. Returns how many ended."""
    from citizen_portal.booking.fairness.offers import withdraw_open_offers

    now = now or datetime.now(UTC)
    retention = timedelta(days=booking_settings().waiting_list_retention_days)
    ended = 0
    for service_id in db.session.scalars(select(WaitingEntry.service_id).where(
            WaitingEntry.status.in_((UNCONFIRMED, WAITING, OFFERED))).distinct()).all():
        with write_transaction(locks.waiting_list(service_id)):
            for entry in db.session.scalars(select(WaitingEntry).where(
                    WaitingEntry.service_id == service_id,
                    WaitingEntry.status.in_((UNCONFIRMED, WAITING, OFFERED)))).all():
                if entry.status == UNCONFIRMED and entry.created_at <= now - timedelta(days=UNCONFIRMED_DAYS):
                    end_entry(entry, LEFT, "unconfirmed", now)
                elif entry.created_at <= now - retention:
                    withdraw_open_offers(entry, now)
                    end_entry(entry, LEFT, "retention", now)
                elif entry.status == WAITING and has_active_appointment(entry.email_hash, service_id, now):
                    end_entry(entry, BOOKED, "booked_elsewhere", now)
                else:
                    continue
                ended += 1
    return ended
