"""Every write lock of the platform, built by one typed helper each, so two writers that must not
overlap always ask for the same lock (``write_transaction(locks.desk_day(desk.id, day))``).

On PostgreSQL a lock is a transaction-scoped advisory lock on a 64-bit key derived from its name; on
SQLite ``BEGIN IMMEDIATE`` holds the single database write lock and the names only document intent.
Rules of thumb: lock what the re-check reads (a staff member's day, a desk's day, a room), lock per
person where a limit counts across things (desk days per week, appointments per e-mail), and take
the same lock for a single booking and for each day of a series.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, order=True)
class Lock:
    name: str

    @property
    def key(self) -> int:
        """A stable signed 64-bit advisory-lock key."""
        return int.from_bytes(hashlib.blake2b(self.name.encode(), digest_size=8).digest(), "big", signed=True)


# --- platform
def users() -> Lock:
    """Staff accounts, their passwords and API tokens."""
    return Lock("users")


def site_load() -> Lock:
    """Loading the site file (everything it writes)."""
    return Lock("site-load")


def worker_heartbeat() -> Lock:
    return Lock("worker-heartbeat")


def webhooks() -> Lock:
    """Webhook subscriptions, the claim and the result of a delivery."""
    return Lock("webhooks")


def job_run(job_name: str) -> Lock:
    """One run of a periodic job across all workers."""
    return Lock(f"job:{job_name}")


# --- a person, across packages: a staff member's appointments and her own room bookings
def person_day(username: str, day: date) -> Lock:
    return Lock(f"person:{username}:{day.isoformat()}")


# --- appointments
def staff_day(staff_id: int, day: date) -> Lock:
    """A staff member's appointments on one local day."""
    return Lock(f"booking-staff:{staff_id}:{day.isoformat()}")


def booking_email(email_digest: str) -> Lock:
    """The active appointments of one (hashed) e-mail address (per-address limit)."""
    return Lock(f"booking-email:{email_digest}")


def booking_client(client_digest: str) -> Lock:
    """The living holds of one (hashed) browser session or client address bucket (hold limits)."""
    return Lock(f"booking-client:{client_digest}")


def booking_admin() -> Lock:
    """Opening hours, closures, services and qualifications edited on the admin pages."""
    return Lock("booking-admin")


# --- desks and rooms
def desk_day(desk_id: int, day: date) -> Lock:
    return Lock(f"desk:{desk_id}:{day.isoformat()}")


def desk_user(user_id: int) -> Lock:
    """A person's desk bookings (desk days per week)."""
    return Lock(f"desk-user:{user_id}")


def room(room_id: int) -> Lock:
    return Lock(f"room:{room_id}")


def spaces_admin() -> Lock:
    """Floors, desks and rooms edited on the admin pages, and blocks."""
    return Lock("spaces-admin")


def room_requester(marker: str) -> Lock:
    """A requester of public rooms (a hash of the normalised address): the monthly hours re-check."""
    return Lock(f"room-requester:{marker}")


def room_requests() -> Lock:
    """The public room requests' erasure and expiry (one worker at a time)."""
    return Lock("room-requests")


def desk_release() -> Lock:
    return Lock("desk-release")


def spaces_retention() -> Lock:
    return Lock("spaces-retention")


def presence(user_id: int) -> Lock:
    return Lock(f"presence:{user_id}")


def feed(user_id: int) -> Lock:
    return Lock(f"feed:{user_id}")


# --- calendars
def calendar_mirror(calendar_key: str) -> Lock:
    return Lock(f"calendar-mirror:{calendar_key}")


def calendar_outbox() -> Lock:
    return Lock("calendar-outbox")


# --- polls and suggestions
def poll(poll_id: int) -> Lock:
    return Lock(f"poll:{poll_id}")


def poll_slugs() -> Lock:
    return Lock("polls:slug")


def poll_email(poll_id: int, marker: str) -> Lock:
    return Lock(f"poll-email:{poll_id}:{marker}")


def poll_moderation(poll_id: int) -> Lock:
    return Lock(f"poll-moderation:{poll_id}")


def suggestions() -> Lock:
    return Lock("suggestions")


def poll_tokens() -> Lock:
    return Lock("polls:tokens")


def waiting_list(service_id: int) -> Lock:
    """A service's waiting list, its offers and reservations, and its release windows (fair access)."""
    return Lock(f"waiting-list:{service_id}")
