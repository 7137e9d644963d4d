"""Against hoarding: how many unconfirmed holds one person or client may keep, and what the
proof of work costs under load.

A hold (``pending_confirmation`` with a living ``hold_expires_at``) occupies staff time until it is
confirmed by mail or runs out. Without limits one client could keep hundreds of slots held by
submitting the no-JavaScript form with fake addresses. Rules (``check_hold_limits``, called before
the claim and again under the locks of ``hold_locks``):

- per person: at most ``BOOKING_HOLDS_PER_EMAIL`` living holds of one normalised address
  (``codes.email_hash``), across services;
- per browser session: at most ``BOOKING_HOLDS_PER_SESSION`` (``Client.session``; API clients have
  none);
- per client: at most ``BOOKING_HOLDS_PER_CLIENT`` from one address bucket (an IPv4 address, an
  IPv6 /64: one household or one attacker's prefix), counted in the database, so every process and
  instance sees the same number.

Only keyed hashes are stored (``session_hash``, ``client_hash``, HMAC with ``SECRET_KEY``), and
they are erased with the appointment's other personal data.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, func, select

from citizen_portal.booking.models import ACTIVE_STATUSES, PENDING, Appointment
from citizen_portal.booking.services.slot_engine import booking_settings
from citizen_portal.core import locks
from citizen_portal.core.errors import Conflict
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l


@dataclass(frozen=True)
class Client:
    """Who sends a booking: the browser session's id (None for API clients) and the client's
    network address as the app sees it (None when unknown)."""

    session: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class ClientKeys:
    """The stored keyed hashes of a ``Client`` (None where the client has no such part)."""

    session_hash: str | None
    client_hash: str | None


def address_bucket(address: str | None) -> str | None:
    """The bucket a client address counts in: an IPv4 address itself, an IPv6 address's /64
    (IPv4-mapped IPv6 addresses count as IPv4); None for no or an unparsable address."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _keyed(purpose: str, value: str | None) -> str | None:
    if not value:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def client_keys(client: Client) -> ClientKeys:
    """HMACs of the session id and of the address bucket (see the module docstring)."""
    return ClientKeys(_keyed("session", client.session), _keyed("client", address_bucket(client.address)))


def hold_locks(email_digest: str, keys: ClientKeys) -> list[locks.Lock]:
    """The locks a new hold takes besides the address's: its session's and its client's."""
    return [locks.booking_client(digest) for digest in (keys.session_hash, keys.client_hash) if digest]


# the living holds per email_hash, session_hash and client_hash, built once (reused with new parameters)
_LIVING_HOLDS = {column.key: select(func.count(Appointment.id)).where(
    column == bindparam("digest"), Appointment.status == PENDING, Appointment.hold_expires_at > bindparam("now"))
    for column in (Appointment.email_hash, Appointment.session_hash, Appointment.client_hash)}


def _living_holds(column: str, digest: str, now: datetime) -> int:
    return db.session.scalar(_LIVING_HOLDS[column], {"digest": digest, "now": now}) or 0


def check_hold_limits(email_digest: str, keys: ClientKeys, *, now: datetime) -> None:
    """``Conflict("hold_limit")`` when one more hold would pass a limit of the module docstring."""
    config = current_app.config
    if _living_holds("email_hash", email_digest, now) >= config["BOOKING_HOLDS_PER_EMAIL"]:
        problem = _l("Für diese E-Mail-Adresse sind schon Reservierungen offen, die noch nicht bestätigt "
                     "sind. Bitte bestätigen Sie diese zuerst über den Link in der E-Mail, oder warten Sie, "
                     "bis sie ablaufen (nach höchstens %(minutes)s Minuten).", minutes=booking_settings().hold_minutes)
        raise Conflict(problem, code="hold_limit", fields={"email": problem})
    for digest, column, limit in (
        (keys.session_hash, "session_hash", config["BOOKING_HOLDS_PER_SESSION"]),
        (keys.client_hash, "client_hash", config["BOOKING_HOLDS_PER_CLIENT"]),
    ):
        if digest and _living_holds(column, digest, now) >= limit:
            problem = _l("Von Ihrem Zugang sind schon zu viele Reservierungen offen, die noch nicht bestätigt "
                         "sind. Bitte bestätigen Sie diese zuerst über den Link in der E-Mail, oder warten Sie, "
                         "bis sie ablaufen (nach höchstens %(minutes)s Minuten).",
                         minutes=booking_settings().hold_minutes)
            raise Conflict(problem, code="hold_limit", fields={"start": problem})


def proof_of_work_cost(*, now: datetime | None = None) -> int:
    """The cost (SHA-256 rounds per try) of the booking forms' and the booking API's proof of work.

    Rule: ``CAPTCHA_COST`` doubled once for every ``CAPTCHA_LOAD_STEP`` appointments and holds made
    in the last ``CAPTCHA_LOAD_WINDOW_MINUTES`` that still occupy staff time, at most
    ``CAPTCHA_COST_MAX_FACTOR`` times ``CAPTCHA_COST``. Quiet hours cost citizens nothing extra; a
    rush (or someone booking in bulk) makes every further booking slower to script."""
    now = now or datetime.now(UTC)
    config = current_app.config
    base = max(int(config["CAPTCHA_COST"]), 1)
    recent = db.session.scalar(select(func.count(Appointment.id)).where(
        Appointment.created_at > now - timedelta(minutes=int(config["CAPTCHA_LOAD_WINDOW_MINUTES"])),
        Appointment.status.in_(ACTIVE_STATUSES),
    )) or 0
    steps = recent // max(int(config["CAPTCHA_LOAD_STEP"]), 1)
    factor = min(2 ** min(steps, 30), max(int(config["CAPTCHA_COST_MAX_FACTOR"]), 1))
    return base * factor
