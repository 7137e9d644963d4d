"""Hashes and random tokens: the one place that decides how secrets are derived and stored.

Rules: a token is shown once and only its hash is stored (``token_hash``); a value that must be
compared without being readable (an email address for a per-address limit) is stored as a keyed
hash under the app's secret (``keyed_hash``), with a ``purpose`` so one hash never serves two uses."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app


def token_hash(token: str) -> str:
    """SHA-256 (hex) of a random token, for storage and lookup."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(value: str, purpose: str, key: str | bytes | None = None) -> str:
    """HMAC-SHA256 (hex) of ``value`` under ``key`` (default: the app's ``SECRET_KEY``) and ``purpose``."""
    secret = key if key is not None else current_app.config["SECRET_KEY"]
    if isinstance(secret, str):
        secret = secret.encode()
    return hmac.new(secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def new_token(nbytes: int = 32, prefix: str = "") -> str:
    """An unguessable URL-safe token (``nbytes`` of randomness), optionally with a readable prefix."""
    return prefix + secrets.token_urlsafe(nbytes)


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two hashes or tokens (``None`` never matches)."""
    return a is not None and b is not None and hmac.compare_digest(a, b)
