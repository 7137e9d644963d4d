"""Languages and time: locale selection (switch cookie, then Accept-Language), the site time zone,
and the helpers every package uses to translate and to format dates in the citizen's locale.

Rules: German is the default; the language switch is remembered in the ``lang`` cookie; times are
stored in UTC and shown in the configured time zone (``PORTAL_TIMEZONE``, default Europe/Berlin).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    format_time,
    get_locale,
    ngettext,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

LANGUAGE_COOKIE = "lang"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS_ROOT = PROJECT_ROOT / "translations"
# One catalog per area, so each package keeps its own texts; Flask-Babel merges them.
TRANSLATION_AREAS = ("core", "booking", "calendar", "spaces", "polls")


# the regional format of a language: English in en-GB style (24-hour times, day before month)
REGIONAL_FORMATS = {"en": "en_GB"}


def regional(language: str) -> str:
    """The Babel locale that formats ``language`` ("en" -> "en_GB"); translations fall back to "en"."""
    return REGIONAL_FORMATS.get(language, language)


def supported_locales() -> list[str]:
    return [code.strip() for code in current_app.config["LOCALES"].split(",") if code.strip()]


def select_locale() -> str:
    """Locale of the current request: the switch cookie wins, then Accept-Language, then German."""
    locales = supported_locales()
    if has_request_context():
        chosen = request.cookies.get(LANGUAGE_COOKIE)
        if chosen in locales:
            return regional(chosen)
        best = request.accept_languages.best_match(locales)
        if best:
            return regional(best)
    return regional(current_app.config["DEFAULT_LOCALE"])


def select_timezone() -> str:
    return current_app.config["TIMEZONE"]


def site_timezone() -> ZoneInfo:
    """The site's time zone, in which opening hours, all-day and floating events are read."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def current_language() -> str:
    """The language ("de", "en") of the current locale, without its region."""
    locale = get_locale()
    return locale.language if locale else current_app.config["DEFAULT_LOCALE"]


def localized(values: dict[str, str] | None, fallback: str = "") -> str:
    """Pick the current language's text from a ``{"de": ..., "en": ...}`` mapping."""
    if not values:
        return fallback
    return values.get(current_language()) or values.get("de") or next(iter(values.values()))


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_local(moment: datetime) -> datetime:
    """A stored UTC moment in the site time zone (naive values from SQLite are read as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(site_timezone())


def init_app(app: Flask) -> None:
    from citizen_portal.core.extensions import babel

    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES",
        ";".join(str(TRANSLATIONS_ROOT / area) for area in TRANSLATION_AREAS),
    )
    app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config["DEFAULT_LOCALE"])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    @app.before_request
    def _select_locale_per_request() -> None:
        # Flask-Babel caches the locale in ``g``, which lives as long as the app context; when a
        # context spans several requests (tests, CLI) each request must choose its own locale.
        g.pop("_flask_babel", None)

    app.jinja_env.globals.update(
        current_language=current_language,
        localized=localized,
        supported_locales=supported_locales,
    )
    app.jinja_env.filters.update(
        local_date=lambda value, fmt="full": format_date(value, fmt),
        local_time=lambda value, fmt="short": format_time(value, fmt),
        local_datetime=lambda value, fmt="medium": format_datetime(value, fmt),
        # 100.0 -> "100,0" (de), "100.0" (en): one decimal, the locale's separators
        local_decimal=lambda value, fmt="#,##0.0": format_decimal(value, fmt),
    )


__all__ = [
    "LANGUAGE_COOKIE",
    "_",
    "_l",
    "current_language",
    "date",
    "init_app",
    "localized",
    "ngettext",
    "regional",
    "select_locale",
    "site_timezone",
    "supported_locales",
    "to_local",
    "utc_now",
]
