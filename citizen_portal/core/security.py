"""Hashes and random tokens: the one place that decides how secrets are derived and stored.

Rules: a token is shown once and only its hash is stored (``token_hash``); a value that must be
compared without being readable (an email address for a per-address limit) is stored as a keyed
hash under the app's secret (``keyed_hash``), with a ``purpose`` so one hash never serves two uses."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

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


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (a database file before SQLite opens it:
    its ``-wal`` and ``-shm`` files then get the same mode), whatever the process umask."""
    # there already, or no such directory (SQLite then says so itself)
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only (mode 0600, also when it existed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
