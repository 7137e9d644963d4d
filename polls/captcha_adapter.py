"""The proof-of-work captcha (``citizen_portal.core.captcha``, ALTCHA) as the poll pages use it.

Open polls and suggestion forms call ``verify_captcha`` before the service; templates include
``_captcha.html`` with the challenge from ``captcha_challenge`` (None when the captcha is off)."""

from __future__ import annotations

from citizen_portal.core import captcha


def captcha_challenge() -> dict | None:
    return captcha.new_challenge() if captcha.enabled() else None


def verify_captcha(payload: str | None) -> None:
    """Raises ``Invalid(fields={"altcha": ...})`` when the captcha is on and the payload is wrong."""
    if captcha.enabled():
        captcha.verify(payload)


def verify_captcha_form(form) -> None:
    """An HTML form's captcha: the ALTCHA payload, or without JavaScript the waiting-period token.
    Open polls accept both (rate limits still apply); suggestions are verified by mail anyway."""
    captcha.verify_submission(form.get("altcha"), form.get(captcha.WAITING_FIELD))
