"""Small helpers shared by the poll services: keyed hashes, codes, time. (Plain SHA-256 of a token
or code: ``citizen_portal.core.security.token_hash``.)"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from flask import current_app

from citizen_portal.core.i18n import utc_now
from citizen_portal.core.security import new_token, token_hash

# no 0/O, 1/I/L: codes are typed from paper
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12


def now() -> datetime:
    return utc_now()


def keyed_hash(key: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under ``key`` (stored values depend on this layout: keep it)."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def app_key(purpose: str) -> str:
    """A key derived from the app secret for one purpose (never the secret itself)."""
    return keyed_hash(current_app.config["SECRET_KEY"], f"polls:{purpose}")


def normalize_code(raw: str) -> str:
    """Upper case, without spaces and dashes; the printed form groups it as XXXX-XXXX-XXXX."""
    return "".join(ch for ch in raw.upper() if ch.isalnum())


def format_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def code_hash(code: str) -> str:
    return token_hash("code:" + normalize_code(code))


def _letters(number: int, length: int) -> str:
    """The last ``length`` digits of ``number`` written in ``CODE_ALPHABET``."""
    chars = []
    for _ in range(length):
        number, rest = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[rest])
    return "".join(chars)


def random_code(length: int = CODE_LENGTH) -> str:
    """Uniformly random: one draw below 31^length (one call instead of one per character)."""
    return _letters(secrets.randbelow(len(CODE_ALPHABET) ** length), length)


def derived_code(key: str, index: int) -> str:
    """The ``index``-th code of a batch: deterministic from the batch key, uniform over the alphabet."""
    return _letters(int.from_bytes(hmac.new(key.encode(), str(index).encode(), hashlib.sha256).digest(), "big"),
                    CODE_LENGTH)


def normalize_email(raw: str) -> str:
    return raw.strip().lower()


def new_link_token() -> str:
    """The secret of a one-time link sent by mail (only its ``token_hash`` is stored)."""
    return new_token(24)
