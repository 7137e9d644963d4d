"""Configuration from PORTAL_* variables and secrets generated into instance/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from citizen_portal.core import config
from citizen_portal.core.config import ensure_secret_file, from_environment

ROOT = Path(__file__).resolve().parents[1]


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


def _config_reads() -> list[tuple[str, int, str, bool]]:
    """(path, line, key, has_default) of every ``<x>.config.get("KEY"...)``, ``config["KEY"]`` and
    ``config.setdefault("KEY", ...)`` in the project's packages."""
    found = []
    for package in ("citizen_portal", "staff_calendar", "polls"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in {"get", "setdefault"} and _is_config(node.func.value)
                        and node.args and isinstance(node.args[0], ast.Constant)):
                    found.append((str(path.relative_to(ROOT)), node.lineno, node.args[0].value,
                                  len(node.args) > 1 or node.func.attr == "setdefault"))
                elif (isinstance(node, ast.Subscript) and _is_config(node.value)
                      and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
                    found.append((str(path.relative_to(ROOT)), node.lineno, node.slice.value, False))
    return found


def _is_config(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "config"


def test_every_config_key_read_is_declared_once_with_its_default():
    reads = _config_reads()
    assert len(reads) > 30, "the scan found too few config reads: is it still looking at the code?"
    known = set(config.BY_KEY) | config.FRAMEWORK_KEYS | {key for key in config.DERIVED}
    undeclared = [f"{path}:{line}: {key}" for path, line, key, _ in reads
                  if key not in known and not key.startswith(("BABEL_", "RATELIMIT_", "REMEMBER_COOKIE_"))]
    assert not undeclared, "config keys read but not declared in citizen_portal/core/config.py SETTINGS:\n  " + \
        "\n  ".join(undeclared)
    defaults_at_call_site = [f"{path}:{line}: {key}" for path, line, key, has_default in reads
                             if has_default and key in config.BY_KEY]
    assert not defaults_at_call_site, "defaults belong in SETTINGS, not at the call site:\n  " + \
        "\n  ".join(defaults_at_call_site)


def test_environment_values_are_parsed_by_the_declared_type():
    values = config.from_environment({"PORTAL_SITE_CACHE_SECONDS": "5", "PORTAL_CALDAV_MIRROR_HORIZON_DAYS": "200",
                                      "PORTAL_REQUEST_LOG": "off"})
    assert values == {"SITE_CACHE_SECONDS": 5.0, "CALDAV_MIRROR_HORIZON_DAYS": 200, "REQUEST_LOG": False}
    with pytest.raises(config.ConfigError, match="PORTAL_CALDAV_MIRROR_HORIZON_DAYS='ninety': must be a whole number"):
        config.from_environment({"PORTAL_CALDAV_MIRROR_HORIZON_DAYS": "ninety"})
    with pytest.raises(config.ConfigError, match="PORTAL_REQUEST_LOG='maybe': must be true or false"):
        config.from_environment({"PORTAL_REQUEST_LOG": "maybe"})


def test_the_readme_lists_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [setting.key for setting in config.SETTINGS if f"`PORTAL_{setting.key}`" not in readme]
    assert not missing, f"README.md does not document {missing} (`flask config table` prints the table)"


def test_a_secret_key_from_the_environment_is_used(fresh_database_url, tmp_path, monkeypatch):
    from citizen_portal.app import create_app

    assert config.from_environment({"PORTAL_SECRET_KEY": "from-the-vault"}) == {"SECRET_KEY": "from-the-vault"}
    monkeypatch.setenv("PORTAL_SECRET_KEY", "from-the-vault")
    monkeypatch.setenv("PORTAL_DATABASE_URL", fresh_database_url)
    assert create_app({"TESTING": True}).config["SECRET_KEY"] == "from-the-vault"
    assert not (tmp_path / "secret_key").exists()
