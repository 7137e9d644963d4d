"""The proof-of-work captcha (``citizen_portal.captcha``, ALTCHA) as the poll pages use it.

Open polls and suggestion forms call ``verify_captcha`` before the service; templates include
``_captcha.html`` with the challenge from ``captcha_challenge`` (None when the captcha is off)."""

from __future__ import annotations

try:
    from citizen_portal import captcha
except ImportError:  # pragma: no cover - the base module is being written in parallel
    captcha = None  # type: ignore[assignment]


def captcha_challenge() -> dict | None:
    return captcha.new_challenge() if captcha is not None and captcha.enabled() else None


def verify_captcha(payload: str | None) -> None:
    """Raises ``Invalid(fields={"altcha": ...})`` when the captcha is on and the payload is wrong."""
    if captcha is not None and captcha.enabled():
        captcha.verify(payload)
