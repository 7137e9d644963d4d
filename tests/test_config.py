"""Configuration from PORTAL_* variables and secrets generated into instance/."""

from __future__ import annotations

from citizen_portal.core.config import ensure_secret_file, from_environment


def test_environment_values_are_parsed_like_their_defaults():
    values = from_environment({"PORTAL_CAPTCHA": "off", "PORTAL_MAIL_SMTP_PORT": "2525",
                               "PORTAL_SESSION_COOKIE_SECURE": "false", "PORTAL_RATELIMIT_ENABLED": "0",
                               "OTHER": "ignored"})
    assert values == {"CAPTCHA": "off", "MAIL_SMTP_PORT": 2525, "SESSION_COOKIE_SECURE": False,
                      "RATELIMIT_ENABLED": False}


def test_secret_file_is_generated_once_with_mode_0600(tmp_path):
    first = ensure_secret_file(tmp_path, "caldav_password", 24)
    assert len(first) >= 24
    assert oct((tmp_path / "caldav_password").stat().st_mode & 0o777) == "0o600"
    assert ensure_secret_file(tmp_path, "caldav_password", 24) == first
