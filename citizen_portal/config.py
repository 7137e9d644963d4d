"""Configuration: defaults, overridden by ``PORTAL_*`` environment variables, then by the
``overrides`` passed to ``create_app``.

Every key below can be set as ``PORTAL_<KEY>`` (e.g. ``PORTAL_DATABASE_URL``). Values are parsed
according to the type of the default. Secrets are never defaults: ``SECRET_KEY`` is generated into
``instance/secret_key`` on first start.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

ENV_PREFIX = "PORTAL_"

DEFAULTS: dict[str, Any] = {
    # database; empty means SQLite file instance/portal.sqlite3
    "DATABASE_URL": "",
    # display and computation time zone (the site file's [site] timezone must match)
    "TIMEZONE": "Europe/Berlin",
    "DEFAULT_LOCALE": "de",
    "LOCALES": "de,en",
    # public base URL used in mails and feeds (links must work outside a request)
    "BASE_URL": "http://127.0.0.1:5000",
    # mail: empty SMTP host writes mails to instance/mail/
    "MAIL_SMTP_HOST": "",
    "MAIL_SMTP_PORT": 25,
    "MAIL_SMTP_STARTTLS": False,
    "MAIL_SMTP_USERNAME": "",
    "MAIL_SMTP_PASSWORD_ENV": "",
    "MAIL_FROM": "Terminvergabe <noreply@musterhausen.example>",
    # rate limits (flask-limiter storage URI; memory:// per process, redis://... in production)
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_ENABLED": True,
    "LOGIN_RATE_LIMIT": "10 per minute",
    # proof-of-work captcha on public writes: "on" or "off" (tests, trusted networks)
    "CAPTCHA": "on",
    # CalDAV
    "CALDAV_TIMEOUT_SECONDS": 10.0,
    "CALDAV_LIVE_CHECK_TIMEOUT_SECONDS": 2.0,
    "CALDAV_MIRROR_HORIZON_DAYS": 90,
    # the worker syncs every linked calendar this often (and drains the outbox every few seconds)
    "CALDAV_SYNC_INTERVAL_SECONDS": 300.0,
    # while deliveries wait for an unreachable server, the worker asks it this often whether it is
    # back (then every waiting row is retried at once)
    "CALDAV_PROBE_INTERVAL_SECONDS": 15.0,
    # UID domain of events this platform writes
    "EVENT_UID_DOMAIN": "termine.musterhausen.example",
    # drain the outbox in a background thread right after a commit
    "OUTBOX_DRAIN_AFTER_COMMIT": True,
    # largest request body accepted (bytes)
    "MAX_CONTENT_LENGTH": 256 * 1024,
    # session cookie hardening; SESSION_COOKIE_SECURE defaults to "not debug" in create_app
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": None,
    # log one line per request
    "REQUEST_LOG": True,
    # site name shown until `flask site load` has written one; site settings are cached this long
    "SITE_NAME": "Stadt Musterhausen",
    "SITE_CACHE_SECONDS": 30,
    # SQL parameters (names, emails) never appear in error messages or logs
    "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
}


BOOLEAN_KEYS = {"SESSION_COOKIE_SECURE"}  # default None ("decide from debug"), but a boolean when set


def _parse(raw: str, default: Any, key: str = "") -> Any:
    if isinstance(default, bool) or key in BOOLEAN_KEYS:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Read every ``PORTAL_<KEY>`` variable; known keys are parsed like their default,
    unknown ones are passed through as strings (modules may document their own keys)."""
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX):]
        default = DEFAULTS.get(key)
        values[key] = _parse(raw, default, key) if default is not None or key in BOOLEAN_KEYS else raw
    return values


def ensure_secret_key(instance_path: Path) -> str:
    """Return the secret key from ``instance/secret_key``, generating it on first start."""
    return ensure_secret_file(instance_path, "secret_key", 48)


def ensure_secret_file(instance_path: Path, name: str, nbytes: int) -> str:
    """Read the secret ``instance/<name>``, generating a random one on first use.

    Rules: secrets are never committed and never defaults; the file is created with mode 0600
    and exclusively (two processes starting at once cannot both write it)."""
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(nbytes)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret


def sqlite_url(instance_path: Path) -> str:
    return f"sqlite:///{instance_path / 'portal.sqlite3'}"
