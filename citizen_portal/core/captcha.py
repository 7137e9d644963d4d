"""Self-hosted proof-of-work captcha (ALTCHA, protocol v2) for public writes.

- ``enabled()``: ``PORTAL_CAPTCHA`` is "on" (default) or "off" (tests, trusted networks).
- ``new_challenge(scope, cost=None)``: a signed challenge (JSON for the widget, ``GET
  /api/v1/captcha/challenge``), valid ``CAPTCHA_EXPIRY_SECONDS`` (default 600); difficulty
  ``cost`` (SHA-256 rounds per try; default ``CAPTCHA_COST``, raised by callers under load) and
  ``CAPTCHA_KEY_PREFIX`` (hex prefix the derived key must start with; "0000" ≈ 65,000 tries).
- ``verify(payload, scope)``: raises ``Invalid(fields={"altcha": ...})`` unless the payload solves a
  challenge this server signed *for this scope*, is not expired and was not used before. A challenge
  is bound to the form it was issued for: its HMAC key is derived from the scope, so a solution for
  form A is refused at form B. ``API_SCOPE`` is the scope of the JSON API's challenge endpoint (and of
  callers that name none). Used payloads are remembered until their challenge expires, in the
  rate-limit store (``RATELIMIT_STORAGE_URI``: memory per process, Redis shared by all workers in
  production), falling back to process memory.

Without JavaScript no proof of work can run, so forms also carry (inside ``<noscript>``) a signed
*waiting-period token*: ``verify_submission`` accepts it once, no earlier than
``CAPTCHA_WAIT_SECONDS`` (default 15) after it was issued and before it expires. A token is bound to
the form's scope and to the browser session it was issued in (``browser_session()``, a random id in
the signed session cookie): harvested in bulk from one session it books no other form, and a form
re-rendered after its token was used gets a fresh one (never the consumed one). Callers make such a
submission cost more in another way: a booking made with it must be confirmed by the link in the
mail, and the number of such holds per person and client is limited.

The HMAC keys are derived from ``SECRET_KEY``; no state is kept per challenge.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta

import altcha
from flask import current_app, session
from flask_babel import lazy_gettext as _l

from citizen_portal.core.errors import Invalid
from citizen_portal.core.extensions import limiter

WAITING_FIELD = "altcha_wait"
PROOF_OF_WORK = "proof_of_work"
WAITING_PERIOD = "waiting_period"

ALGORITHM = "SHA-256"
API_SCOPE = "api"
SESSION_KEY = "captcha_session"
_used_lock = threading.Lock()
_used_local: dict[str, float] = {}


def enabled() -> bool:
    return str(current_app.config["CAPTCHA"]).strip().lower() not in {"off", "0", "false", "no"}


def _secret(purpose: str) -> bytes:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"altcha:{purpose}".encode(), hashlib.sha256).digest()


def _challenge_secret(scope: str) -> bytes:
    return _secret("challenge" if scope == API_SCOPE else f"challenge:{scope}")


def new_challenge(scope: str = API_SCOPE, cost: int | None = None) -> dict:
    """A fresh signed challenge for the form ``scope`` as the widget expects it (``{"parameters":
    ..., "signature": ...}``); ``cost`` SHA-256 rounds per try (default ``CAPTCHA_COST``)."""
    expiry = int(current_app.config["CAPTCHA_EXPIRY_SECONDS"])
    challenge = altcha.create_challenge(
        ALGORITHM,
        max(int(cost or current_app.config["CAPTCHA_COST"]), 1),
        key_prefix=str(current_app.config["CAPTCHA_KEY_PREFIX"]),
        expires_at=datetime.now(UTC) + timedelta(seconds=expiry),
        hmac_secret=_challenge_secret(scope),
        hmac_key_secret=_secret("key"),
    )
    return challenge.to_dict()


def _remember(nonce: str, expires_at: float) -> bool:
    """True when ``nonce`` was not used before (and is now marked used)."""
    ttl = max(int(expires_at - time.time()) + 1, 1)
    try:
        storage = limiter.storage
        if storage is not None:
            return storage.incr(f"altcha-used/{nonce}", ttl) == 1
    except Exception:  # no shared store: fall back to this process
        pass
    now = time.time()
    with _used_lock:
        for key in [key for key, until in _used_local.items() if until < now]:
            del _used_local[key]
        if nonce in _used_local:
            return False
        _used_local[nonce] = expires_at
        return True


def _fail(message) -> Invalid:
    return Invalid(message, fields={"altcha": message})


def verify(payload: str | None, scope: str = API_SCOPE) -> None:
    """Accept a solved, unexpired, unused payload of a challenge signed for ``scope``; otherwise
    raise ``Invalid``. Does nothing when the captcha is off."""
    if not enabled():
        return
    if not payload or not isinstance(payload, str) or len(payload) > 4096:
        raise _fail(_l("Bitte bestätigen Sie, dass Sie kein Roboter sind (Sicherheitsprüfung)."))
    result = altcha.verify_solution(
        payload, _challenge_secret(scope), hmac_key_secret=_secret("key"),
    )
    if not result.verified:
        if result.expired:
            raise _fail(_l("Die Sicherheitsprüfung ist abgelaufen. Bitte wiederholen Sie sie."))
        raise _fail(_l("Die Sicherheitsprüfung ist fehlgeschlagen. Bitte wiederholen Sie sie."))
    data = json.loads(base64.b64decode(payload).decode())
    parameters = data["challenge"]["parameters"]
    expires_at = float(parameters.get("expiresAt") or parameters.get("expires_at") or time.time() + 600)
    if not _remember(str(parameters["nonce"]), expires_at):
        raise _fail(_l("Diese Sicherheitsprüfung wurde schon verwendet. Bitte wiederholen Sie sie."))


def _wait_seconds() -> int:
    return int(current_app.config["CAPTCHA_WAIT_SECONDS"])


def browser_session() -> str:
    """A random id of this browser session (kept in the signed session cookie, made on first use)."""
    value = session.get(SESSION_KEY)
    if not isinstance(value, str) or len(value) != 22:
        value = secrets.token_urlsafe(16)
        session[SESSION_KEY] = value
    return value


def _sign_waiting(issued: int, nonce: str, scope: str) -> str:
    """The token's signature binds it to the form's ``scope`` and to the browser session."""
    message = f"{issued}.{nonce}.{scope}.{browser_session()}".encode()
    return hmac.new(_secret("waiting"), message, hashlib.sha256).hexdigest()


def _parse_waiting(token: str | None, scope: str) -> tuple[int, str] | None:
    """``(issued, nonce)`` of a token this server signed for ``scope`` in this session, else None."""
    if not token or not isinstance(token, str) or len(token) > 200:
        return None
    parts = token.split(".")
    if len(parts) != 3 or not re.fullmatch(r"[0-9]{1,12}", parts[0]):
        return None
    issued, nonce, signature = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(signature, _sign_waiting(issued, nonce, scope)):
        return None
    return issued, nonce


def _used(key: str) -> bool:
    """Whether ``_remember`` has seen ``key`` (without marking it)."""
    try:
        storage = limiter.storage
        if storage is not None:
            return bool(storage.get(f"altcha-used/{key}"))
    except Exception:  # no shared store: this process
        pass
    with _used_lock:
        return _used_local.get(key, 0) >= time.time()


def waiting_token(previous: str | None = None, scope: str = API_SCOPE) -> str:
    """The token for the no-JavaScript path of the form ``scope``. A ``previous`` one is kept only
    while it is valid for this form and session and was not used (a submission that came too early:
    the waiting period does not restart); a used one is never handed out again."""
    parsed = _parse_waiting(previous, scope)
    expiry = int(current_app.config["CAPTCHA_EXPIRY_SECONDS"])
    if parsed and previous and parsed[0] + expiry > time.time() and not _used(f"wait/{parsed[1]}"):
        return previous
    issued, nonce = int(time.time()), base64.urlsafe_b64encode(hashlib.sha256(
        f"{time.time_ns()}{id(object())}".encode() + _secret("nonce")).digest()[:12]).decode().rstrip("=")
    return f"{issued}.{nonce}.{_sign_waiting(issued, nonce, scope)}"


def _verify_waiting(token: str, scope: str) -> None:
    parsed = _parse_waiting(token, scope)
    if parsed is None:
        raise _fail(_l("Die Sicherheitsprüfung ist fehlgeschlagen. Bitte laden Sie die Seite neu."))
    issued, nonce = parsed
    age = time.time() - issued
    expiry = int(current_app.config["CAPTCHA_EXPIRY_SECONDS"])
    if age > expiry:
        raise _fail(_l("Die Sicherheitsprüfung ist abgelaufen. Bitte laden Sie die Seite neu."))
    wait = _wait_seconds()
    if age < wait:
        raise _fail(_l("Zum Schutz vor automatisierten Anfragen nehmen wir das Formular ohne JavaScript erst "
                       "%(seconds)s Sekunden nach dem Laden an. Bitte senden Sie es gleich noch einmal.",
                       seconds=wait))
    if not _remember(f"wait/{nonce}", issued + expiry):
        raise _fail(_l("Diese Sicherheitsprüfung wurde schon verwendet. Bitte laden Sie die Seite neu."))


def verify_submission(payload: str | None, waiting: str | None, scope: str = API_SCOPE) -> str | None:
    """Check an HTML form's captcha for the form ``scope``: a solved ALTCHA payload (JavaScript) or,
    without JavaScript, the waiting-period token. Returns ``PROOF_OF_WORK`` or ``WAITING_PERIOD``
    (None when off); raises ``Invalid(fields={"altcha": ...})`` otherwise."""
    if not enabled():
        return None
    if payload:
        verify(payload, scope)
        return PROOF_OF_WORK
    if waiting:
        _verify_waiting(waiting, scope)
        return WAITING_PERIOD
    verify(None, scope)
    return None


def init_app(app) -> None:
    """Templates call ``captcha_waiting_token(previous, scope)`` inside the ``<noscript>`` block."""
    app.jinja_env.globals["captcha_waiting_token"] = waiting_token


def solve_for_tests(challenge: dict) -> str:
    """Solve a challenge like the widget does and return the payload (tests, benchmarks)."""
    parsed = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(parsed)
    return altcha.Payload(parsed, solution).to_base64()
