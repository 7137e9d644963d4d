"""Appointment codes and the token material of appointments.

Rules:

- The code is 6 characters from ``CODE_ALPHABET`` (no 0/O, 1/I/L: read over the phone), shown as
  "K7M-4QX"; it is unique but not a secret. Input is normalised (case, separators ignored).
- The manage token is ``HMAC(SECRET_KEY, "manage:<nonce>")`` (url-safe), only its SHA-256 is
  stored (``core.security.token_hash``), so a database leak reveals no working link, and the
  reminder job can re-derive the link for its mail. The confirmation token of a hold is random;
  only its SHA-256 is stored. A wrong token and an unknown code look the same (``NotFound``).
- The per-address limits compare ``HMAC-SHA256(SECRET_KEY, normalised address)``
  (``core.addresses.normalised_email``: case, NFKC, IDNA, plus tags, provider dots), not the address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Literal

from flask import current_app
from sqlalchemy import bindparam, func, select

from citizen_portal.booking.models import Appointment
from citizen_portal.core.addresses import AddressProblem, normalised_email
from citizen_portal.core.errors import NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from citizen_portal.core.security import same, token_hash

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read over the phone


def email_hash(email: str) -> str:
    """HMAC-SHA256 of the normalised address (``normalised_email``) keyed with ``SECRET_KEY``: the
    per-address limits count every spelling of one mailbox once. An address stored before the
    normalisation that it would refuse counts by its lower-cased form."""
    try:
        key_text = normalised_email(email)
    except AddressProblem:
        key_text = email.strip().lower()
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, key_text.encode(), hashlib.sha256).hexdigest()


def find_appointment(code: str, token: str | None,
                     stored: Literal["manage_token_hash", "confirm_token_hash"]) -> Appointment:
    """The appointment with this code if ``token`` matches its ``stored`` hash; ``NotFound``
    otherwise (erased appointments have no hashes and are not found)."""
    appointment = db.session.scalars(select(Appointment).where(Appointment.code == normalize_code(code))).first()
    if appointment is None or not token or not same(getattr(appointment, stored), token_hash(token)):
        raise NotFound(_l("Diesen Termin gibt es nicht, oder der Link ist nicht mehr gültig."))
    return appointment


def manage_token_for(appointment: Appointment) -> str | None:
    """Re-derive the manage token (None once erased)."""
    return derive_manage_token(appointment.token_nonce) if appointment.token_nonce else None


def new_code() -> str:
    """A random code "XXX-XXX" from ``CODE_ALPHABET`` (not checked for uniqueness: ``unique_code``)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
    return f"{raw[:3]}-{raw[3:]}"


def normalize_code(code: str) -> str:
    """A code as typed ("k7m4qx", "K7M 4QX") in its stored form "K7M-4QX"."""
    cleaned = re.sub(r"[^0-9A-Za-z]", "", code or "").upper()
    return f"{cleaned[:3]}-{cleaned[3:]}" if len(cleaned) == 6 else cleaned


def derive_manage_token(nonce: str) -> str:
    """The manage token of ``nonce``: ``HMAC(SECRET_KEY, "manage:<nonce>")``, url-safe base64."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"manage:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


_CODE_USES = select(func.count(Appointment.id)).where(Appointment.code == bindparam("code"))  # built once


def unique_code() -> str:
    """A code no appointment has yet (20 tries; the unique constraint guards the race)."""
    for _ in range(20):
        code = new_code()
        if db.session.scalar(_CODE_USES, {"code": code}) == 0:
            return code
    raise RuntimeError("no free booking code found")

