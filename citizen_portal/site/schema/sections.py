"""One reader per part of the site file: ``[site]`` (time zone, holidays, legal pages, booking and
spaces settings) and the arrays ``[[locations]]``, ``[[services]]``, ``[[staff]]``, ``[[floors]]``,
``[[desks]]``, ``[[rooms]]`` with their references to each other."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from citizen_portal.booking import settings as booking_settings
from citizen_portal.core.calendar_days import german_regions

from .checker import (
    _MISSING,
    EMAIL_PATTERN,
    KEY_PATTERN,
    LANGUAGES,
    LEGAL_PAGES,
    Checker,
    _hint,
    _join,
    parse_clock,
    parse_range,
)
from .specs import (
    BookingSettings,
    DeskSpec,
    FloorSpec,
    Localized,
    LocationSpec,
    ParsedSite,
    RoomSpec,
    ServiceSpec,
    SiteError,
    SiteFileInvalid,
    SiteSection,
    SpacesSettings,
    StaffSpec,
)


def german_subdivisions() -> list[str]:
    return german_regions()


def _site_section(check: Checker, document: dict, app_timezone: str) -> SiteSection | None:
    if "site" not in document:
        check.error("site", "missing: the file needs a [site] table with at least name")
        return None
    raw = check.table(document["site"], "site", ("name", "timezone", "holidays", "closures", "legal", "booking",
                                                "spaces"),
                      ("name",))
    if raw is None:
        return None
    name = check.string(raw, "name", "site")
    timezone = check.string(raw, "timezone", "site", "Europe/Berlin", max_length=64)
    if timezone is not None:
        _check_timezone(check, timezone, app_timezone)
    holiday_code = check.string(raw, "holidays", "site", None, max_length=8)
    if holiday_code is not None and holiday_code not in german_subdivisions():
        check.error("site.holidays", f"{holiday_code!r} is not a German Bundesland code "
                                     f"(one of {', '.join(german_subdivisions())})")
    legal = _legal(check, raw.get("legal", {}), "site.legal")
    booking = _booking(check, raw.get("booking", {}), "site.booking")
    spaces = _spaces(check, raw.get("spaces", {}), "site.spaces")
    closures = check.dates(raw, "closures", "site")
    if name is None:
        return None
    return SiteSection(name=name, timezone=timezone or app_timezone, holidays=holiday_code, legal=legal,
                       booking=booking, spaces=spaces, closures=closures)


def _check_timezone(check: Checker, timezone: str, app_timezone: str) -> None:
    """A valid IANA zone that equals the app's configured ``TIMEZONE``: times are computed in
    the app's zone, so a different one in the file would show wrong opening hours."""
    try:
        ZoneInfo(timezone)
        valid = timezone in available_timezones() or timezone == "UTC"
    except (ZoneInfoNotFoundError, ValueError):
        valid = False
    if not valid:
        check.error("site.timezone", f"{timezone!r} is not a time zone name like 'Europe/Berlin'")
    elif timezone != app_timezone:
        check.error("site.timezone", f"{timezone!r} differs from the app's time zone {app_timezone!r}: "
                                     f"set PORTAL_TIMEZONE={timezone} or write timezone = {app_timezone!r}")


def _legal(check: Checker, value: Any, path: str) -> dict[str, Localized]:
    raw = check.table(value, path, LEGAL_PAGES)
    if raw is None:
        return {}
    result = {}
    for page in LEGAL_PAGES:
        text = check.localized(raw, page, path, required=False, max_length=50_000)
        if text:
            result[page] = text
    return result


def _booking(check: Checker, value: Any, path: str) -> BookingSettings:
    """Read ``[site] booking`` against its one declaration (``citizen_portal.booking.settings``)."""
    defaults = BookingSettings()
    raw = check.table(value, path, booking_settings.KEYS)
    if raw is None:
        return defaults
    values: dict[str, Any] = {}
    for key in booking_settings.KEYS:
        default = getattr(defaults, key)
        if key in booking_settings.RANGES:
            values[key] = _or(check.integer(raw, key, path, default, *booking_settings.RANGES[key]), default)
        else:
            values[key] = check.choice(raw, key, path, default, booking_settings.CHOICES[key])
    return BookingSettings(**values)


def _spaces(check: Checker, value: Any, path: str) -> SpacesSettings:
    defaults = SpacesSettings()
    raw = check.table(value, path, tuple(SpacesSettings.__dataclass_fields__))
    if raw is None:
        return defaults

    def clock(key: str) -> str:
        given = check.string(raw, key, path, getattr(defaults, key), max_length=5)
        if given is not None and parse_clock(given) is None:
            check.error(_join(path, key), f"{given!r} is not a time of day HH:MM")
            return getattr(defaults, key)
        return given or getattr(defaults, key)

    def half_day(key: str) -> str:
        given = check.string(raw, key, path, getattr(defaults, key), max_length=11)
        if given is not None and parse_range(given) is None:
            check.error(_join(path, key), f"{given!r} is not a time range HH:MM-HH:MM")
            return getattr(defaults, key)
        return given or getattr(defaults, key)

    def number(key: str, low: int, high: int) -> int:
        return _or(check.integer(raw, key, path, getattr(defaults, key), low, high), getattr(defaults, key))

    return SpacesSettings(
        desk_days_per_week=number("desk_days_per_week", 1, 7),
        horizon_days=number("horizon_days", 1, 365),
        checkin=check.boolean(raw, "checkin", path, defaults.checkin),
        release_time=clock("release_time"),
        retention_days=number("retention_days", 1, 3650),
        series_horizon_days=number("series_horizon_days", 1, 366),
        afternoon_release_time=clock("afternoon_release_time"),
        morning=half_day("morning"),
        afternoon=half_day("afternoon"),
        occupancy_min_count=number("occupancy_min_count", 1, 100),
    )


def _or(value: int | None, default: int | None) -> int | None:
    return default if value is None else value


def _locations(check: Checker, document: dict) -> list[LocationSpec]:
    result = []
    for path, entry in check.entries(document, "locations"):
        check.table(entry, path, ("key", "name", "address", "opening_hours", "closures"), ("name",))
        name = check.localized(entry, "name", path, required=True)
        address = check.string(entry, "address", path, "", max_length=300)
        hours = check.hours(entry, "opening_hours", path)
        closures = check.dates(entry, "closures", path)
        if name is not None:
            result.append(LocationSpec(key=entry["key"], name=name, address=address or "",
                                       opening_hours=hours or {}, closures=closures))
    return result


SERVICE_KEYS = ("key", "name", "description", "documents", "duration_minutes", "buffer_minutes", "min_lead_hours",
                "horizon_days", "email_confirmation", "max_active_per_email", "locations")


def _services(check: Checker, document: dict, location_keys: set[str]) -> list[ServiceSpec]:
    result = []
    for path, entry in check.entries(document, "services"):
        check.table(entry, path, SERVICE_KEYS, ("name", "duration_minutes", "locations"))
        name = check.localized(entry, "name", path, required=True)
        description = check.localized(entry, "description", path, required=False, max_length=5000)
        documents = _documents(check, entry, path)
        duration = check.integer(entry, "duration_minutes", path, None, 5, 480)
        locations = check.string_list(entry, "locations", path, KEY_PATTERN, "location key")
        if locations is not None and not locations and "locations" in entry:
            check.error(_join(path, "locations"), "must name at least one location")
        check.references(locations, location_keys, _join(path, "locations"), "location")
        spec = ServiceSpec(
            key=entry["key"], name=name or {}, duration_minutes=duration or 0, locations=locations or [],
            description=description or {}, documents=documents,
            buffer_minutes=_or(check.integer(entry, "buffer_minutes", path, 0, 0, 240), 0),
            min_lead_hours=_or(check.integer(entry, "min_lead_hours", path, 2, 0, 8760), 2),
            horizon_days=_or(check.integer(entry, "horizon_days", path, 60, 1, 730), 60),
            email_confirmation=check.boolean(entry, "email_confirmation", path, False),
            max_active_per_email=_or(check.integer(entry, "max_active_per_email", path, 1, 1, 100), 1),
        )
        if name is not None and duration is not None and locations:
            result.append(spec)
    return result


def _documents(check: Checker, entry: dict, path: str) -> dict[str, list[str]]:
    """Documents to bring, per language: ``{de = ["..."], en = ["..."]}``."""
    value = entry.get("documents", _MISSING)
    if value is _MISSING:
        return {}
    raw = check.table(value, _join(path, "documents"), LANGUAGES)
    if raw is None:
        return {}
    result = {}
    for language in LANGUAGES:
        items = check.string_list(raw, language, _join(path, "documents"))
        if items:
            result[language] = items
    return result


def _staff(check: Checker, document: dict, location_keys: set[str],
           services: dict[str, ServiceSpec]) -> list[StaffSpec]:
    """Staff members; each service a member offers must be offered at one of the member's locations."""
    result = []
    for path, entry in check.entries(document, "staff"):
        check.table(entry, path, ("key", "name", "email", "locations", "services", "working_hours", "calendar"),
                    ("name", "locations", "services"))
        name = check.string(entry, "name", path)
        email = check.string(entry, "email", path, None, max_length=254)
        if email is not None and not EMAIL_PATTERN.match(email):
            check.error(_join(path, "email"), "is not an email address")
        locations = check.string_list(entry, "locations", path, KEY_PATTERN, "location key")
        check.references(locations, location_keys, _join(path, "locations"), "location")
        offered = check.string_list(entry, "services", path, KEY_PATTERN, "service key")
        check.references(offered, set(services), _join(path, "services"), "service")
        for index, service_key in enumerate(offered or []):
            service = services.get(service_key)
            if service and service.locations and locations and not set(service.locations) & set(locations):
                check.error(f"{path}.services[{index}]", f"service {service_key!r} is not offered at any of this "
                                                        f"member's locations ({', '.join(locations)})")
        working_hours = check.hours(entry, "working_hours", path)
        calendar = check.calendar(entry, "calendar", path)
        if name is not None and locations is not None and offered is not None:
            result.append(StaffSpec(key=entry["key"], name=name, email=email, locations=locations,
                                    services=offered, working_hours=working_hours, calendar=calendar))
    return result


def _floors(check: Checker, document: dict) -> list[FloorSpec]:
    result = []
    for path, entry in check.entries(document, "floors"):
        check.table(entry, path, ("key", "name", "desk_days_per_week"), ("name",))
        name = check.localized(entry, "name", path, required=True)
        days = check.integer(entry, "desk_days_per_week", path, None, 1, 7)
        if name is not None:
            result.append(FloorSpec(key=entry["key"], name=name, desk_days_per_week=days))
    return result


def _desks(check: Checker, document: dict, floor_keys: set[str]) -> list[DeskSpec]:
    result = []
    for path, entry in check.entries(document, "desks"):
        check.table(entry, path, ("key", "floor", "label", "attributes", "x", "y"), ("floor",))
        floor = _floor_reference(check, entry, path, floor_keys)
        label = check.string(entry, "label", path, None, max_length=100)
        attributes = check.string_list(entry, "attributes", path, KEY_PATTERN, "attribute")
        x, y = check.number(entry, "x", path, 0, 100), check.number(entry, "y", path, 0, 100)
        if floor is not None:
            result.append(DeskSpec(key=entry["key"], floor=floor, label=label, attributes=attributes or [], x=x, y=y))
    return result


def _rooms(check: Checker, document: dict, floor_keys: set[str]) -> list[RoomSpec]:
    result = []
    for path, entry in check.entries(document, "rooms"):
        check.table(entry, path, ("key", "floor", "name", "capacity", "attributes", "opening_hours", "calendar",
                                  "x", "y"), ("floor", "name"))
        floor = _floor_reference(check, entry, path, floor_keys)
        name = check.localized(entry, "name", path, required=True)
        capacity = check.integer(entry, "capacity", path, 1, 1, 1000)
        attributes = check.string_list(entry, "attributes", path, KEY_PATTERN, "attribute")
        hours = check.hours(entry, "opening_hours", path)
        calendar = check.calendar(entry, "calendar", path)
        x, y = check.number(entry, "x", path, 0, 100), check.number(entry, "y", path, 0, 100)
        if floor is not None and name is not None:
            result.append(RoomSpec(key=entry["key"], floor=floor, name=name, capacity=capacity or 1,
                                   attributes=attributes or [], opening_hours=hours, calendar=calendar, x=x, y=y))
    return result


def _floor_reference(check: Checker, entry: dict, path: str, floor_keys: set[str]) -> str | None:
    floor = check.string(entry, "floor", path, None, max_length=64)
    if floor is not None and floor not in floor_keys:
        check.error(_join(path, "floor"), f"unknown floor {floor!r}" + _hint(floor_keys))
        return None
    return floor


# --------------------------------------------------------------------------- the whole document

TOP_LEVEL_KEYS = ("site", "locations", "services", "staff", "floors", "desks", "rooms")


def validate_document(document: dict[str, Any], app_timezone: str) -> ParsedSite:
    """Validate a decoded TOML document; raise ``SiteFileInvalid`` with every error found.

    References are checked against the keys written in the file, even where the referenced
    entry itself has errors (so one mistake is reported once, at its place)."""
    check = Checker()
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            check.error(key, f"unknown key (allowed: {', '.join(TOP_LEVEL_KEYS)})")
    site = _site_section(check, document, app_timezone)
    locations = _locations(check, document)
    location_keys = _declared_keys(document, "locations")
    services = _services(check, document, location_keys)
    service_keys = _declared_keys(document, "services")
    known_services = {key: ServiceSpec(key=key, name={}, duration_minutes=0, locations=[]) for key in service_keys}
    known_services.update({service.key: service for service in services})
    staff = _staff(check, document, location_keys, known_services)
    floors = _floors(check, document)
    floor_keys = _declared_keys(document, "floors")
    desks = _desks(check, document, floor_keys)
    rooms = _rooms(check, document, floor_keys)
    if check.errors or site is None:
        raise SiteFileInvalid(check.errors or [SiteError("site", "missing")])
    return ParsedSite(site=site, locations=locations, services=services, staff=staff, floors=floors,
                      desks=desks, rooms=rooms)


def _declared_keys(document: dict, name: str) -> set[str]:
    value = document.get(name, [])
    if not isinstance(value, list):
        return set()
    return {entry["key"] for entry in value if isinstance(entry, dict) and isinstance(entry.get("key"), str)}
