"""What a valid site file becomes: one dataclass per section and entry kind, and the error types."""

from __future__ import annotations

from dataclasses import dataclass, field

from citizen_portal.booking.settings import BookingSettings

OpeningHours = dict[str, list[str]]
Localized = dict[str, str]


@dataclass(frozen=True)
class SiteError:
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


class SiteFileInvalid(Exception):
    """The site file has errors; ``errors`` lists every one of them."""

    def __init__(self, errors: list[SiteError]) -> None:
        super().__init__(f"{len(errors)} error(s) in the site file")
        self.errors = errors


@dataclass
class CalendarSpec:
    url: str
    username: str | None = None
    password_env: str | None = None
    password_file: str | None = None


@dataclass
class SpacesSettings:
    desk_days_per_week: int = 3
    horizon_days: int = 14
    checkin: bool = False
    release_time: str = "10:00"
    retention_days: int = 90
    series_horizon_days: int = 63
    afternoon_release_time: str = "14:00"
    morning: str = "08:00-12:30"
    afternoon: str = "12:30-17:00"
    occupancy_min_count: int = 3


@dataclass
class SiteSection:
    name: str
    timezone: str = "Europe/Berlin"
    holidays: str | None = None
    legal: dict[str, Localized] = field(default_factory=dict)
    booking: BookingSettings = field(default_factory=BookingSettings)
    spaces: SpacesSettings = field(default_factory=SpacesSettings)
    # site-wide closures (every location, desk and room): ISO dates
    closures: list[str] = field(default_factory=list)


@dataclass
class LocationSpec:
    key: str
    name: Localized
    address: str = ""
    opening_hours: OpeningHours = field(default_factory=dict)
    closures: list[str] = field(default_factory=list)


@dataclass
class ServiceSpec:
    key: str
    name: Localized
    duration_minutes: int
    locations: list[str]
    description: Localized = field(default_factory=dict)
    documents: dict[str, list[str]] = field(default_factory=dict)
    buffer_minutes: int = 0
    min_lead_hours: int = 2
    horizon_days: int = 60
    email_confirmation: bool = False
    max_active_per_email: int = 1


@dataclass
class StaffSpec:
    key: str
    name: str
    locations: list[str]
    services: list[str]
    email: str | None = None
    working_hours: OpeningHours | None = None
    calendar: CalendarSpec | None = None


@dataclass
class FloorSpec:
    key: str
    name: Localized
    desk_days_per_week: int | None = None


@dataclass
class DeskSpec:
    key: str
    floor: str
    label: str | None = None
    attributes: list[str] = field(default_factory=list)
    x: float | None = None
    y: float | None = None


@dataclass
class RoomSpec:
    key: str
    floor: str
    name: Localized
    capacity: int = 1
    attributes: list[str] = field(default_factory=list)
    opening_hours: OpeningHours | None = None
    calendar: CalendarSpec | None = None
    x: float | None = None
    y: float | None = None


@dataclass
class ParsedSite:
    site: SiteSection
    locations: list[LocationSpec] = field(default_factory=list)
    services: list[ServiceSpec] = field(default_factory=list)
    staff: list[StaffSpec] = field(default_factory=list)
    floors: list[FloorSpec] = field(default_factory=list)
    desks: list[DeskSpec] = field(default_factory=list)
    rooms: list[RoomSpec] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.locations)} locations, {len(self.services)} services, {len(self.staff)} staff, "
                f"{len(self.floors)} floors, {len(self.desks)} desks, {len(self.rooms)} rooms")
