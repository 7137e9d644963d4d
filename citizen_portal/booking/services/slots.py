"""Public slot search: ``find_slots``, ``slots_json``, ``days_with_slots``, the alternatives of a
taken time (``next_free_slots``) and ``list_services``.

Rules:

- A search covers local days ``first_day``..``last_day`` (inclusive): not reversed, at most
  ``MAX_RANGE_DAYS`` (62) days (``Invalid``); an unknown/inactive service or a location that does
  not offer it is ``NotFound``.
- ``find_slots`` (API, citizen pages) is served from a per-process cache validated by one small
  statement per request (``services/cache.py``); otherwise computed by ``slot_engine.plan``. The
  booking path (``plan`` from ``appointments``/``manage``) always computes afresh.
- Alternatives of a taken time are searched in growing windows and stop once enough are found.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from citizen_portal.booking.models import Service
from citizen_portal.booking.services import cache as slot_cache_module
from citizen_portal.booking.services.slot_engine import Slot, load_service, offered_location, plan
from citizen_portal.core.errors import Invalid
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, site_timezone

MAX_RANGE_DAYS = 62


def _check_range(first_day: date, last_day: date) -> None:
    if last_day < first_day:
        raise Invalid(_l("Das Ende liegt vor dem Anfang."), fields={"to": _l("Das Ende liegt vor dem Anfang.")})
    if (last_day - first_day).days + 1 > MAX_RANGE_DAYS:
        message = _l("Höchstens 62 Tage auf einmal.")
        raise Invalid(message, fields={"to": message})


def _cached_plan(service_key: str, first_day: date, last_day: date, location_key: str | None,
                 now: datetime) -> slot_cache_module.Entry:
    """The cache entry for these arguments: a valid cached one, else a fresh computation (see
    ``services/cache.py`` for when an entry is valid)."""
    _check_range(first_day, last_day)
    cache = slot_cache_module.slot_cache()
    key = (service_key, location_key, first_day, last_day)
    entry = cache.get(key)
    validation = slot_cache_module.check(entry, now)  # read before any data: later changes are seen next time
    if validation.valid:
        cache.hits += 1
        return entry
    cache.misses += 1
    service = load_service(service_key)
    if location_key is not None:
        offered_location(service, location_key)
    result = plan(service, first_day, last_day, now=now, location_key=location_key, with_validity=True)
    entry = slot_cache_module.Entry(
        token=validation.token, computed_at=now.timestamp(), valid_until=result.valid_until,
        calendar_keys=result.calendar_keys, mirror_version=result.mirror_version, value=result.slots,
        staff_ids=result.staff_ids, version_days=result.version_days, day_version=result.day_version,
        extras={"notice_generation": validation.notices},
    )
    if validation.token:
        cache.put(key, entry)
    return entry


def find_slots(
    service_key: str,
    first_day: date,
    last_day: date,
    *,
    location_key: str | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    """Free slots of a service from ``first_day`` to ``last_day`` (local days, inclusive), sorted
    by start then location. Raises ``NotFound`` for an unknown/inactive service or a location
    that does not offer it, ``Invalid`` for a reversed range or one longer than 62 days.

    Served from the per-process slot cache when nothing it depends on has changed (two small
    queries); otherwise computed by ``plan``."""
    now = now or datetime.now(UTC)
    return list(_cached_plan(service_key, first_day, last_day, location_key, now).value)


def slots_json(
    service_key: str,
    first_day: date,
    last_day: date,
    *,
    location_key: str | None = None,
    now: datetime | None = None,
) -> str:
    """``find_slots`` as the API's JSON body ``{"slots": [{"start", "end", "location"}]}`` (RFC 3339
    in the site zone), serialised once per cache entry."""
    now = now or datetime.now(UTC)
    entry = _cached_plan(service_key, first_day, last_day, location_key, now)
    body = entry.extras.get("json")
    if body is None:
        zone = site_timezone()
        body = current_app.json.dumps({"slots": [slot.to_json(zone) for slot in entry.value]})
        entry.extras["json"] = body
    return body


def days_with_slots(
    service_key: str, first_day: date, last_day: date, *, location_key: str | None = None,
    now: datetime | None = None,
) -> dict[date, int]:
    """Number of free times per local day (for the citizen's day list / month grid)."""
    zone = site_timezone()
    counts: dict[date, int] = defaultdict(int)
    for slot in find_slots(service_key, first_day, last_day, location_key=location_key, now=now):
        counts[slot.start.astimezone(zone).date()] += 1
    return dict(sorted(counts.items()))


def is_offered(service_key: str, location_key: str, start: datetime, *, now: datetime | None = None) -> bool:
    """Whether ``start`` is one of the free times offered now at the location: the same engine and
    rules (lead time, horizon, grid, busy time) the booking re-checks, so a form page never offers a
    time the booking would refuse as over or not bookable."""
    day = start.astimezone(site_timezone()).date()
    return any(slot.start == start for slot in find_slots(service_key, day, day, location_key=location_key, now=now))


ALTERNATIVE_WINDOWS = (1, 7, 21, MAX_RANGE_DAYS)  # days searched, growing until enough are found


def next_free_slots(
    service: Service, after: datetime, *, now: datetime, location_key: str | None = None, limit: int = 5,
) -> list[Slot]:
    """The next ``limit`` free slots from ``after`` on (within 62 days of its local day): searched
    in growing windows (the requested day, then a week, three weeks, 62 days) and stopped as soon
    as ``limit`` are found, so a 409 usually costs a one-day computation."""
    zone = site_timezone()
    first = max(after, now).astimezone(zone).date()
    searched_until = first - timedelta(days=1)
    found: list[Slot] = []
    for days in ALTERNATIVE_WINDOWS:
        last = first + timedelta(days=days - 1)
        result = plan(service, searched_until + timedelta(days=1), last, now=now, location_key=location_key)
        found += [slot for slot in result.slots if slot.start >= after]
        searched_until = last
        if len(found) >= limit:
            break
    return found[:limit]


def list_services() -> list[Service]:
    """Active services that are offered at one active location at least, ordered by key, with
    ``locations`` loaded (callers filter ``location.active``)."""
    services = db.session.scalars(
        select(Service).where(Service.active.is_(True)).options(selectinload(Service.locations)).order_by(Service.key)
    ).all()
    return [service for service in services if any(location.active for location in service.locations)]
