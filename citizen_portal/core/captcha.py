"""Self-hosted proof-of-work captcha (ALTCHA, protocol v2) for public writes.

- ``enabled()``: ``PORTAL_CAPTCHA`` is "on" (default) or "off" (tests, trusted networks).
- ``new_challenge()``: a signed challenge (JSON for the widget, ``GET /api/v1/captcha/challenge``),
  valid ``CAPTCHA_EXPIRY_SECONDS`` (default 600); difficulty ``CAPTCHA_COST`` (SHA-256 rounds)
  and ``CAPTCHA_KEY_PREFIX`` (hex prefix the derived key must start with; "0000" ≈ 65,000 tries).
- ``verify(payload)``: raises ``Invalid(fields={"altcha": ...})`` unless the payload solves a challenge
  this server signed, is not expired and was not used before. Used payloads are remembered until
  their challenge expires, in the rate-limit store (``RATELIMIT_STORAGE_URI``: memory per process,
  Redis shared by all workers in production), falling back to process memory.

Without JavaScript no proof of work can run, so forms also carry (inside ``<noscript>``) a signed
*waiting-period token*: ``verify_submission`` accepts it once, no earlier than
``CAPTCHA_WAIT_SECONDS`` (default 15) after it was issued and before it expires. Callers make such a
submission cost more in another way: a booking made with it must be confirmed by the link in the mail.

The HMAC keys are derived from ``SECRET_KEY``; no state is kept per challenge.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import altcha
from flask import current_app
from flask_babel import lazy_gettext as _l

from citizen_portal.core.errors import Invalid
from citizen_portal.core.extensions import limiter

WAITING_FIELD = "altcha_wait"
PROOF_OF_WORK = "proof_of_work"
WAITING_PERIOD = "waiting_period"

ALGORITHM = "SHA-256"
_used_lock = threading.Lock()
_used_local: dict[str, float] = {}


def enabled() -> bool:
    return str(current_app.config["CAPTCHA"]).strip().lower() not in {"off", "0", "false", "no"}


def _secret(purpose: str) -> bytes:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"altcha:{purpose}".encode(), hashlib.sha256).digest()


def new_challenge() -> dict:
    """A fresh signed challenge as the widget expects it (``{"parameters": ..., "signature": ...}``)."""
    expiry = int(current_app.config["CAPTCHA_EXPIRY_SECONDS"])
    challenge = altcha.create_challenge(
        ALGORITHM,
        int(current_app.config["CAPTCHA_COST"]),
        key_prefix=str(current_app.config["CAPTCHA_KEY_PREFIX"]),
        expires_at=datetime.now(UTC) + timedelta(seconds=expiry),
        hmac_secret=_secret("challenge"),
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


def verify(payload: str | None) -> None:
    """Accept a solved, signed, unexpired, unused payload; otherwise raise ``Invalid``.
    Does nothing when the captcha is off."""
    if not enabled():
        return
    if not payload or not isinstance(payload, str) or len(payload) > 4096:
        raise _fail(_l("Bitte bestätigen Sie, dass Sie kein Roboter sind (Sicherheitsprüfung)."))
    result = altcha.verify_solution(
        payload, _secret("challenge"), hmac_key_secret=_secret("key"),
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


def _sign_waiting(issued: int, nonce: str) -> str:
    return hmac.new(_secret("waiting"), f"{issued}.{nonce}".encode(), hashlib.sha256).hexdigest()


def _parse_waiting(token: str | None) -> tuple[int, str] | None:
    """``(issued, nonce)`` of a token this server signed, else None."""
    if not token or not isinstance(token, str) or len(token) > 200:
        return None
    parts = token.split(".")
    if len(parts) != 3 or not (parts[0].isascii() and parts[0].isdigit()):
        return None
    issued, nonce, signature = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(signature, _sign_waiting(issued, nonce)):
        return None
    return issued, nonce


def waiting_token(previous: str | None = None) -> str:
    """The token for the no-JavaScript path; a still valid ``previous`` one is kept, so a form
    re-rendered after an error does not restart the waiting period."""
    parsed = _parse_waiting(previous)
    expiry = int(current_app.config["CAPTCHA_EXPIRY_SECONDS"])
    if parsed and parsed[0] + expiry > time.time() and previous:
        return previous
    issued, nonce = int(time.time()), base64.urlsafe_b64encode(hashlib.sha256(
        f"{time.time_ns()}{id(object())}".encode() + _secret("nonce")).digest()[:12]).decode().rstrip("=")
    return f"{issued}.{nonce}.{_sign_waiting(issued, nonce)}"


def _verify_waiting(token: str) -> None:
    parsed = _parse_waiting(token)
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


def verify_submission(payload: str | None, waiting: str | None) -> str | None:
    """Check an HTML form's captcha: a solved ALTCHA payload (JavaScript) or, without JavaScript,
    the waiting-period token. Returns ``PROOF_OF_WORK`` or ``WAITING_PERIOD`` (None when off);
    raises ``Invalid(fields={"altcha": ...})`` otherwise."""
    if not enabled():
        return None
    if payload:
        verify(payload)
        return PROOF_OF_WORK
    if waiting:
        _verify_waiting(waiting)
        return WAITING_PERIOD
    verify(None)
    return None


def init_app(app) -> None:
    """Templates call ``captcha_waiting_token(previous)`` inside the ``<noscript>`` block."""
    app.jinja_env.globals["captcha_waiting_token"] = waiting_token


def solve_for_tests(challenge: dict) -> str:
    """Solve a challenge like the widget does and return the payload (tests, benchmarks)."""
    parsed = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(parsed)
    return altcha.Payload(parsed, solution).to_base64()
