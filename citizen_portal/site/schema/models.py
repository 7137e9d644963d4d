"""What a site file holds: one model per table. ``SiteFile`` validates a decoded TOML document and is
what ``flask site load`` applies. The settings tables are declared where they are read
(``citizen_portal.booking.settings``, ``staff_calendar.spaces.settings``); the README's tables are
generated from the descriptions here (``python -m citizen_portal.site.schema.reference``)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from citizen_portal.booking.settings import BookingSettings, ServiceSettings
from citizen_portal.core.calendar_days import german_regions
from citizen_portal.core.schemas import EMAIL_PATTERN, MAX_EMAIL
from staff_calendar.spaces.settings import DEFAULT_ROOM_HOURS, SpacesSettings

from .fields import (
    Context,
    Dates,
    Documents,
    EnvName,
    Hours,
    InstanceFile,
    Key,
    SiteModel,
    Url,
    iso_date,
    keys,
    localized,
    problems,
    reference,
    rule,
    shaped,
    text,
)

SECRET_HINT = ('never write a password into the site file: use password_env = "NAME" (an environment variable) '
               'or password_file = "name" (a file in instance/)')


REGIONS = german_regions()
Bundesland = Annotated[text(8, "Bundesland code"), rule(
    REGIONS.__contains__, f"{{value!r}} is not a German Bundesland code (one of {', '.join(REGIONS)})")]


def _timezone(value: str, info: ValidationInfo) -> str:
    """A valid IANA zone that equals the app's ``TIMEZONE``: times are computed in the app's zone, so
    another one in the file would show wrong opening hours."""
    if value != "UTC" and value not in available_timezones():
        raise ValueError(f"{value!r} is not a time zone name like 'Europe/Berlin'")
    app_timezone = info.context["app_timezone"] if info.context else value
    if value != app_timezone:
        raise ValueError(f"{value!r} differs from the app's time zone {app_timezone!r}: "
                         f"set PORTAL_TIMEZONE={value} or write timezone = {app_timezone!r}")
    return value


Email = Annotated[text(MAX_EMAIL, "email address"), rule(EMAIL_PATTERN.match, "is not an email address")]
Phone = Annotated[text(50, "phone number"), rule(re.compile(r"\+?[0-9][0-9 ()/-]{3,48}").fullmatch,
                                                  "{value!r} is not a phone number like '+49 7971 123-0'")]


class Contact(SiteModel):
    """How citizens reach the office: shown on every error page and in the mails (their Reply-To)."""

    phone: Phone = Field(description="phone number of the citizens' service, shown on every error page")
    email: Email = Field(description="e-mail address of the citizens' service; the Reply-To of every citizen mail")


class Accessibility(SiteModel):
    """The facts BITV 2.0 § 7 requires in the accessibility statement."""

    status: Literal["full", "partial", "none"] = Field("partial", description=(
        "how far the pages conform: `full`, `partial` or `none`"))
    known_barriers: localized(5000) | None = Field(None, description="what is not yet accessible, and why")
    feedback_email: Email = Field(description="where people report barriers (the feedback mechanism)")
    feedback_phone: Phone | None = None
    enforcement: localized(2000) = Field(description=(
        "the enforcement procedure: name, address and web page of the Land's Schlichtungs- or Durchsetzungsstelle"))
    prepared_on: Annotated[str, BeforeValidator(iso_date)] = Field(description="date the statement was prepared")


class Privacy(SiteModel):
    """The facts Art. 13 DSGVO requires on the privacy page."""

    controller: localized(2000) = Field(description="the controller: name and address of the city")
    dpo_email: Email = Field(description="e-mail address of the data protection officer")
    supervisory_authority: localized(1000) = Field(description=(
        "the supervisory authority citizens may complain to (the Land's data protection commissioner)"))


class Legal(SiteModel):
    impressum: localized(50_000) | None = None
    datenschutz: localized(50_000) | None = None
    barrierefreiheit: localized(50_000) | None = None
    accessibility: Accessibility = Field(title="table", description=(
        "required: `{ feedback_email, enforcement = {de, en}, prepared_on, status, known_barriers, feedback_phone }`"))
    privacy: Privacy = Field(title="table", description=(
        "required: `{ controller = {de, en}, dpo_email, supervisory_authority = {de, en} }`"))


BELOW = {"x-default": "see below"}


class SiteSection(SiteModel):
    name: text() = Field(description="name of the city or administration")
    timezone: Annotated[text(64, "IANA zone"), AfterValidator(_timezone)] = Field(
        "Europe/Berlin", validate_default=True,
        description="must equal `PORTAL_TIMEZONE`, otherwise `check` tells you which one to change")
    holidays: Bundesland | None = Field(None, description=(
        f"Bundesland ({', '.join(f'`{code}`' for code in REGIONS)}) whose public holidays close every location, "
        "desk and room"))
    closures: Dates = Field([], description="`[\"2026-12-24\"]`: days on which every desk and room is closed")
    contact: Contact = Field(title="table", description="required: `{ phone, email }` of the citizens' service")
    legal: Legal = Field(title="table", description=(
        "city texts for `impressum`, `datenschutz`, `barrierefreiheit`, each `{de, en}`; plain text, blank lines "
        "separate paragraphs; missing pages use the built-in text; the required facts in `accessibility` and "
        "`privacy`"))
    booking: BookingSettings = Field(BookingSettings(), title="table", json_schema_extra=BELOW,
                                     description="appointment settings")
    spaces: SpacesSettings = Field(SpacesSettings(), title="table", json_schema_extra=BELOW,
                                   description="desk and room settings")


class Entry(SiteModel):
    """An entry of an array of tables (``[[staff]]``), named by its key in errors and in the database."""

    key: Key


class LocationSpec(Entry):
    name: localized()
    address: text(300) = ""
    opening_hours: Hours = Field({}, description='`{ mon = ["08:00-12:00", "13:00-16:00"], ... }`')
    closures: Dates = Field([], description="`[\"2026-12-24\"]`, in addition to the Bundesland's public holidays")
    phone: Phone | None = Field(None, description="the office's phone (default: `[site] contact.phone`)")
    email: Email | None = Field(None, description="the office's e-mail (default: `[site] contact.email`)")
    step_free: localized(500) | None = Field(None, description="step-free access: entrance, lift, toilet")
    payment: localized(500) | None = Field(None, description="accepted means of payment, e.g. card, cash")


LOCATION_INFO = ("phone", "email", "step_free", "payment")


class ServiceSpec(ServiceSettings, Entry):
    name: localized()
    description: localized(5000) = Field({}, description="shown when choosing the service")
    documents: Documents = Field({}, description="what to bring")
    fees: localized(500) | None = Field(None, description="what it costs, e.g. `{ de = \"12,00 Euro\" }`")
    needs_consent: bool = Field(False, description=(
        "the booking asks for consent (Art. 6(1)(a) DSGVO) instead of the public-task basis (Art. 6(1)(e))"))
    locations: Annotated[keys("location key", "locations"), rule(len, "must name at least one location")] = Field(
        description="where the service is offered (at least one)")


class CalendarSpec(SiteModel):
    """A CalDAV calendar; its secret only by reference (an environment variable or a file in instance/)."""

    url: Url
    username: text() | None = None
    password_env: EnvName | None = None
    password_file: InstanceFile | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> CalendarSpec:
        if self.password_env and self.password_file:
            raise ValueError("give either password_env or password_file, not both")
        return self


CALENDAR = ("`{ url, username, password_env | password_file }`: the CalDAV calendar whose busy time blocks "
            "slots and into which appointments are written (link key `staff:<key>`)")


SERVICE_INFO = ("fees", "needs_consent")


class StaffSpec(Entry):
    key: Key = Field(description="equals the username of the member's staff login, if any")
    name: text()
    email: Email | None = None
    locations: keys("location key", "locations")
    services: keys("service key", "services") = Field(description="each offered at one of the member's locations")
    working_hours: Hours | None = Field(None, json_schema_extra={"x-default": "the location's opening hours"})
    calendar: CalendarSpec | None = Field(None, title="table", description=CALENDAR)

    @field_validator("services")
    @classmethod
    def _offered_at_own_location(cls, services: list[str], info: ValidationInfo) -> list[str]:
        context: Context | None = info.context
        own = set(info.data.get("locations") or ())
        offered_at = context["service_locations"] if context and own else {}
        elsewhere = [((index,), f"service {key!r} is not offered at any of this member's locations "
                                f"({', '.join(info.data['locations'])})")
                     for index, key in enumerate(services) if offered_at.get(key) and not offered_at[key] & own]
        if elsewhere:
            problems(*elsewhere)
        return services


class FloorSpec(Entry):
    name: localized()
    desk_days_per_week: int | None = Field(None, ge=1, le=7, json_schema_extra={"x-default": "the site's"},
                                           description="overrides `[site] spaces.desk_days_per_week`")


Floor = Annotated[text(64, "floor key"), reference("floors", "floor")]
Position = Annotated[float | None, Field(ge=0, le=100, description="position on the floor plan, percent of width "
                                                                  "resp. height")]


class DeskSpec(Entry):
    floor: Floor
    label: text(100) | None = Field(None, description="shown on the plan")
    attributes: keys("attribute") = Field([], description="e.g. `monitor`, `standing`, `accessible`")
    x: Position = None
    y: Position = None


class PublicRoomSpec(SiteModel):
    """A room's ``public`` table: the room can be requested by citizens and associations."""

    hours: Hours = Field(description='times the public may request, e.g. `{ mon = ["18:00-22:00"], sat = '
                                     '["09:00-20:00"] }` (public holidays and closures excluded)')
    description: localized(2000) = Field({}, description="shown in the catalogue")
    equipment: localized(1000) = Field({}, description="e.g. chairs, tables, projector, kitchen")
    house_rules: localized(5000) = Field(description="requesters must accept them")
    accessibility: localized(1000) = Field({}, description="step-free access, toilets, hearing loop ...")
    photo: text(300) | None = Field(None, description="path of an image under `static/`, e.g. `img/rooms/saal.jpg`")
    photo_alt: localized(300) = Field({}, description="text alternative of the photo")
    blackout_dates: Dates = Field([], description="days the room cannot be requested, in addition to the "
                                                  "public holidays and `[site] closures`")
    auto_approve: Annotated[list[text(200, "organisation")], shaped(list, "a list of names")] = Field(
        [], description="organisations whose requests are approved without a room admin (exact name)")


class RoomSpec(Entry):
    floor: Floor
    name: localized()
    capacity: int = Field(1, ge=1, le=1000, description="seats")
    attributes: keys("attribute") = Field([], description="e.g. `projector`, `video-conference`")
    opening_hours: Hours | None = Field(None, json_schema_extra={
        "x-default": f"{', '.join(DEFAULT_ROOM_HOURS)} Monday to Friday"},
                                        description="bookable hours, like a location's")
    calendar: CalendarSpec | None = Field(None, title="table",
                                          description="like a staff member's: busy time of the room (`room:<key>`)")
    x: Position = None
    y: Position = None
    public: PublicRoomSpec | None = Field(None, title="table", description=(
        "rooms for citizens: `{ hours, house_rules, description, equipment, accessibility, photo, photo_alt, "
        "blackout_dates, auto_approve }`; without it the room is for staff only"))


def entries(model: type[Entry], kind: str) -> Any:
    return Annotated[list[model], shaped(list, f"an array of tables [[{kind}]]")]


class SiteFile(SiteModel):
    """The whole file. Validate with ``parse_site_text`` (it supplies the ``Context``)."""

    site: SiteSection = Field(json_schema_extra={"x-missing": "missing: the file needs a [site] table with "
                                                              "at least name"})
    locations: entries(LocationSpec, "locations") = []
    services: entries(ServiceSpec, "services") = []
    staff: entries(StaffSpec, "staff") = []
    floors: entries(FloorSpec, "floors") = []
    desks: entries(DeskSpec, "desks") = []
    rooms: entries(RoomSpec, "rooms") = []

    def summary(self) -> str:
        return (f"{len(self.locations)} locations, {len(self.services)} services, {len(self.staff)} staff, "
                f"{len(self.floors)} floors, {len(self.desks)} desks, {len(self.rooms)} rooms")


ENTRY_KINDS = ("locations", "services", "staff", "floors", "desks", "rooms")
