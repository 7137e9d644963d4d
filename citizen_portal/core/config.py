"""Configuration: one table declares every setting with its type, default and meaning.

Every key can be set as ``PORTAL_<KEY>`` (e.g. ``PORTAL_DATABASE_URL``); the value is parsed by the
key's declared type and a bad value stops the start with a message naming the variable. Then the
``overrides`` passed to ``create_app`` apply. Code reads ``current_app.config["KEY"]`` and never
states a default of its own (``tests/test_config.py`` fails on a read of an undeclared key or on a
default at the call site). Secrets are never defaults: ``SECRET_KEY`` is generated into
``instance/secret_key`` on first start.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "PORTAL_"


@dataclass(frozen=True)
class Setting:
    key: str
    type: type  # str, int, float or bool
    default: Any
    meaning: str
    optional: bool = False  # the default None means "decide at start" (e.g. from debug mode)


SETTINGS: tuple[Setting, ...] = (
    Setting("SECRET_KEY", str, "", "signs sessions, derives keyed hashes; empty: generated into instance/secret_key"),
    # --- database, time, language, URLs
    Setting("DATABASE_URL", str, "", "SQLAlchemy URL; empty: SQLite file instance/portal.sqlite3"),
    Setting("TIMEZONE", str, "Europe/Berlin", "time zone of opening hours and display; must equal [site] timezone"),
    Setting("DEFAULT_LOCALE", str, "de", "language without cookie or Accept-Language match"),
    Setting("LOCALES", str, "de,en", "offered languages"),
    Setting("BASE_URL", str, "http://127.0.0.1:5000", "public URL used in mails and feeds"),
    Setting("LOCK_TIMEOUT_SECONDS", float, 15.0,
            "longest wait for a write lock; then the request answers 409 busy (SQLite: its busy timeout)"),
    # --- mail
    Setting("MAIL_SMTP_HOST", str, "", "SMTP relay; empty writes mails to instance/mail/*.eml"),
    Setting("MAIL_SMTP_PORT", int, 25, "SMTP port"),
    Setting("MAIL_SMTP_STARTTLS", bool, False, "use STARTTLS"),
    Setting("MAIL_SMTP_USERNAME", str, "", "SMTP login"),
    Setting("MAIL_SMTP_PASSWORD_ENV", str, "", "name of the variable holding the SMTP password"),
    Setting("MAIL_FROM", str, "Terminvergabe <noreply@musterhausen.example>", "sender"),
    Setting("MAIL_RETRY_HOURS", float, 48.0, "a mail the relay does not take is retried this long, then given up"),
    Setting("AFTER_RESPONSE_IN_BACKGROUND", bool, True,
            "deliver mail (and run other after-response work) in a background thread once the answer is sent; "
            "off: at once, inside the request"),
    Setting("CITIZEN_ICS_ALARM_MINUTES", int, 60, "citizen calendar entries remind this long before (0: no VALARM)"),
    # --- rate limits and the captcha
    Setting("REDIS_URL", str, "", "redis://host:6379/0 shared by every process: rate limits, single-use captcha "
            "solutions (empty: per-process memory, fine for one process)"),
    Setting("RATELIMIT_STORAGE_URI", str, "", "limiter storage; empty: REDIS_URL if set, else memory:// (per process)"),
    Setting("RATELIMIT_ENABLED", bool, True, "rate limits on public writes and logins"),
    Setting("RATELIMIT_HEADERS_ENABLED", bool, True, "RateLimit headers on limited endpoints"),
    Setting("LOGIN_RATE_LIMIT", str, "10 per minute", "login attempts per client"),
    Setting("BOOKING_RATE_LIMIT", str, "10 per minute;50 per hour", "appointment writes per client"),
    Setting("BOOKING_LOOKUP_RATE_LIMIT", str, "3 per minute;10 per hour", "links sent again per client"),
    Setting("BOOKING_SLOTS_RATE_LIMIT", str, "120 per minute", "slot searches per client"),
    Setting("GRAPH_RATE_LIMIT", str, "600 per minute", "requests to /graph/v1.0 per token (429 with Retry-After)"),
    Setting("POLLS_VOTE_RATE_LIMIT", str, "20 per minute; 200 per hour", "ballots per client"),
    Setting("POLLS_MAIL_RATE_LIMIT", str, "5 per minute; 30 per hour", "poll and suggestion mails per client"),
    Setting("PUBLIC_ROOMS_RATE_LIMIT", str, "5 per minute; 30 per hour",
            "requests for public rooms (/raeume, /api/v1/public-room-requests) per client"),
    Setting("CAPTCHA", str, "on", "ALTCHA proof-of-work on public writes: on or off (tests, trusted networks)"),
    Setting("CAPTCHA_EXPIRY_SECONDS", int, 600, "how long a captcha challenge is valid"),
    Setting("CAPTCHA_COST", int, 1, "SHA-256 rounds per captcha attempt"),
    Setting("CAPTCHA_KEY_PREFIX", str, "0000", "hex prefix the derived key must start with (0000: ~65,000 tries)"),
    Setting("CAPTCHA_WAIT_SECONDS", int, 15, "waiting period of the no-JavaScript form token"),
    Setting("CAPTCHA_LOAD_WINDOW_MINUTES", int, 10,
            "booking proof of work under load: appointments and holds made in this many minutes count"),
    Setting("CAPTCHA_LOAD_STEP", int, 25,
            "booking proof of work under load: its cost doubles for every this many appointments in the window"),
    Setting("CAPTCHA_COST_MAX_FACTOR", int, 16, "booking proof of work under load: at most this times CAPTCHA_COST"),
    Setting("BOOKING_HOLDS_PER_EMAIL", int, 2,
            "unconfirmed holds (no-JavaScript bookings, e-mail confirmation) per normalised e-mail address"),
    Setting("BOOKING_HOLDS_PER_SESSION", int, 2, "unconfirmed holds per browser session"),
    Setting("BOOKING_HOLDS_PER_CLIENT", int, 10,
            "unconfirmed holds per client address (IPv4 address, IPv6 /64), counted site-wide in the database"),
    # --- CalDAV and the outbox
    Setting("CALDAV_TIMEOUT_SECONDS", float, 10.0, "CalDAV requests of the worker"),
    Setting("CALDAV_LIVE_CHECK_TIMEOUT_SECONDS", float, 2.0, "live re-check while booking (then the mirror decides)"),
    Setting("CALDAV_MIRROR_HORIZON_DAYS", int, 90,
            "least number of days ahead busy time is mirrored; the mirror always reaches the furthest bookable day"),
    Setting("CALDAV_SYNC_INTERVAL_SECONDS", float, 300.0, "the worker syncs every linked calendar this often"),
    Setting("CALDAV_PROBE_INTERVAL_SECONDS", float, 15.0,
            "while deliveries wait for an unreachable server, ask it this often whether it is back"),
    Setting("CALDAV_EXPANSION_MAX_OCCURRENCES", int, 2000,
            "most occurrences of one remote event read into the mirror; past them it is busy to the window end "
            "and shown as a sync warning"),
    Setting("CALDAV_EXPANSION_SECONDS", float, 2.0,
            "longest time spent reading one remote event (parsing and expanding); then as above"),
    Setting("EVENT_UID_DOMAIN", str, "termine.musterhausen.example", "domain part of event UIDs written"),
    Setting("OUTBOX_DRAIN_AFTER_COMMIT", bool, True, "push calendar events right after a booking"),
    # --- API clients and webhooks
    Setting("OAUTH_TOKEN_SECONDS", int, 3600, "lifetime of an access token issued by POST /oauth/token"),
    Setting("OAUTH_TOKEN_RATE_LIMIT", str, "30 per minute", "POST /oauth/token requests per client address"),
    Setting("WEBHOOK_TIMEOUT_SECONDS", float, 10.0, "longest wait for a webhook receiver's answer"),
    Setting("WEBHOOK_RETRY_HOURS", float, 72.0,
            "a webhook delivery that fails is retried with backoff this long (at least 24), then given up"),
    Setting("WEBHOOK_LOG_DAYS", int, 30, "webhook events and their delivery log are kept this many days"),
    Setting("WEBHOOK_ALLOW_HTTP_LOOPBACK", bool, False,
            "accept http:// webhook receivers on loopback addresses (tests; always allowed in debug mode)"),
    # --- requests, sessions, logs
    Setting("PROXY_FIX", int, 0, "reverse proxies in front whose X-Forwarded-For/-Proto/-Host are trusted (0: none)"),
    Setting("MAX_CONTENT_LENGTH", int, 256 * 1024, "largest request body (bytes)"),
    Setting("SESSION_COOKIE_HTTPONLY", bool, True, "HttpOnly flag of the session cookie"),
    Setting("SESSION_COOKIE_SAMESITE", str, "Lax", "SameSite of the session cookie"),
    Setting("SESSION_COOKIE_SECURE", bool, None, "Secure flag of the session cookie; unset: not in debug",
            optional=True),
    Setting("HEALTH_TOKEN", str, "", "bearer token that shows /healthz details to a monitor (empty: only admins "
            "and requests from the machine itself see them; everyone sees the status)"),
    Setting("REQUEST_LOG", bool, True, "one log line per request (never personal data)"),
    Setting("LOG_FORMAT", str, "text", "text (one readable line) or json (one JSON object per line, with request_id)"),
    Setting("METRICS_TOKEN", str, "", "bearer token a scraper sends to read /metrics (empty: no token accepted)"),
    Setting("METRICS_ALLOW", str, "", "addresses or networks that may read /metrics without a token, comma-separated "
            "(e.g. 127.0.0.1,10.0.0.0/8; empty: none); everyone else gets 404"),
    Setting("API_TOKEN_DAYS", int, 90, "days a new API token is valid (flask users token create --days)"),
    # --- staff login with the city's OpenID provider (Keycloak in openDesk)
    Setting("OIDC_ISSUER", str, "", "issuer URL of the OpenID provider (discovery at <issuer>/.well-known/"
            "openid-configuration); empty: no single sign-on"),
    Setting("OIDC_CLIENT_ID", str, "", "client id registered at the provider"),
    Setting("OIDC_CLIENT_SECRET", str, "", "client secret (confidential client)"),
    Setting("OIDC_SCOPES", str, "openid profile email", "scopes asked for"),
    Setting("OIDC_ROLES_CLAIM", str, "groups", "claim (ID token or userinfo) whose values are mapped to roles"),
    Setting("OIDC_ROLE_MAP", str, "", "claim value=role pairs, comma-separated (e.g. termine-staff=staff,"
            "termine-admin=admin; a leading / of group paths is ignored); nobody without a mapped role gets in"),
    Setting("LOCAL_LOGIN", bool, True, "staff may also log in with a local username and password"),
    Setting("STAFF_IDLE_MINUTES", int, 30, "a staff session unused this long ends (logout ends every session)"),
    # --- pages and caches
    Setting("SITE_NAME", str, "Stadt Musterhausen", "name shown before a site file is loaded"),
    Setting("SITE_CACHE_SECONDS", float, 30.0, "how long site settings are cached per process"),
    Setting("SPACES_CACHE_SECONDS", float, 10.0, "how long desk availability answers are cached per process"),
    Setting("POLLS_ARCHIVE_AFTER_DAYS", int, 30, "closed polls are archived this many days after closing"),
    Setting("POLLS_BALLOT_BATCH_MIN", int, 20,
            "ballots are counted in shuffled batches of at least this many (see docs/ballot-secrecy.md)"),
    Setting("POLLS_UNCONFIRMED_SUGGESTION_HOURS", int, 48,
            "an idea whose address was not confirmed is deleted (with its address) after this many hours"),
)

BY_KEY: dict[str, Setting] = {setting.key: setting for setting in SETTINGS}
DEFAULTS: dict[str, Any] = {setting.key: setting.default for setting in SETTINGS}
# set by create_app, not from the environment
DERIVED = {
    "SQLALCHEMY_DATABASE_URI": "DATABASE_URL, filled in",
    "SQLALCHEMY_ENGINE_OPTIONS": "SQL parameters (names, emails) never appear in error messages or logs",
    "REMEMBER_COOKIE_HTTPONLY": "always true",
    "REMEMBER_COOKIE_SECURE": "as SESSION_COOKIE_SECURE",
}
# framework settings with a fixed value (tests may override them; the environment cannot)
FIXED: dict[str, Any] = {"SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True}, "WTF_CSRF_ENABLED": True}
# keys of Flask and its extensions that code may read besides the declared ones
FRAMEWORK_KEYS = frozenset({"SECRET_KEY", "TESTING", "DEBUG", "PROPAGATE_EXCEPTIONS", "SERVER_NAME",
                            "SECRET_KEY_FALLBACKS",  # Flask's own: older keys that still verify sessions
                            *DERIVED, *FIXED})

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ValueError):
    """A ``PORTAL_*`` variable has a value its setting cannot take."""


def parse(setting: Setting, raw: str) -> Any:
    """Parse an environment value by the setting's declared type."""
    text = raw.strip()
    try:
        if setting.type is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError
        if setting.type is int:
            return int(text)
        if setting.type is float:
            return float(text)
    except ValueError:
        kind = {bool: "true or false", int: "a whole number", float: "a number"}[setting.type]
        raise ConfigError(f"{ENV_PREFIX}{setting.key}={raw!r}: must be {kind}") from None
    return raw


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Every declared ``PORTAL_<KEY>`` variable, parsed by its type. Undeclared ``PORTAL_*`` names
    (e.g. ``PORTAL_INSTANCE_PATH``, read before the app exists, or ``scripts/run.py``'s own) are
    not settings of the app and are ignored here."""
    environ = dict(os.environ if environ is None else environ)
    return {key: parse(BY_KEY[key], environ[ENV_PREFIX + key]) for key in BY_KEY if ENV_PREFIX + key in environ}


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


def settings_table_markdown() -> str:
    """The README's configuration table, generated from the declaration (``flask config table``)."""
    lines = ["| variable | type | default | meaning |", "|---|---|---|---|"]
    for setting in SETTINGS:
        default = "(decided at start)" if setting.optional and setting.default is None else repr(setting.default)
        lines.append(f"| `{ENV_PREFIX}{setting.key}` | {setting.type.__name__} | `{default}` | {setting.meaning} |")
    return "\n".join(lines)
