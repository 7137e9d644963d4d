"""The network part of a mirror sync: which objects changed on the server, and their data.

Rules:
- sync-collection with the stored token (``disable_fallback=True``, so caldav never silently lists
  everything); the changed objects are fetched with one calendar-multiget (chunks of ``MULTIGET_CHUNK``);
- an expired/unknown token (``DAV:valid-sync-token``: 403 on Radicale, 412 on Xandikos) → full listing,
  comparing etags so unchanged objects are not fetched again;
- a server without sync-collection → ``mode = "etag"``: a depth-1 PROPFIND of etags, diffed with the
  stored map;
- no database access here: the caller reads what it needs before and writes after.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from caldav.elements import dav
from caldav.lib import error as caldav_error

from staff_calendar.calendars.client import CalendarUnavailable, href_of

log = logging.getLogger("staff_calendar.mirror")

MULTIGET_CHUNK = 1000
FULL_SYNC_TIMEOUT_FACTOR = 6
VALID_SYNC_TOKEN = "{DAV:}valid-sync-token"


@dataclass
class SyncResult:
    calendar_key: str
    ok: bool = False
    mode: str = ""  # "full" | "incremental" | "etag"
    used_token: bool = False
    token_expired: bool = False
    multigets: int = 0
    changed: int = 0
    deleted: int = 0
    unreadable: int = 0
    warnings: int = 0  # objects read in this sync that carry a warning (capped, timeout, unreadable)
    error: str | None = None
    released: int = 0  # outbox rows that became due because this calendar's server is back
    superseded: bool = False  # another sync of this calendar committed meanwhile, twice
    seconds: float = 0.0
    fetch_seconds: float = 0.0  # the part spent talking to the server
    read_seconds: float = 0.0  # parsing and expanding, before the write transaction
    write_seconds: float = 0.0  # the write transaction (the calendar's lock held)


@dataclass
class Fetched:
    mode: str
    token: str | None
    changed: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # href -> (etag, data)
    deleted: set[str] = field(default_factory=set)


def _is_expired_token(exc: Exception) -> bool:
    return VALID_SYNC_TOKEN in (getattr(exc, "preconditions", None) or [])


def _is_auth_failure(exc: Exception) -> bool:
    return isinstance(exc, caldav_error.AuthorizationError) and not _is_expired_token(exc)


def _listing(collection) -> tuple[dict[str, str | None], set[str]]:
    listed: dict[str, str | None] = {}
    for obj in collection:
        props = getattr(obj, "props", None) or {}
        listed[href_of(obj.url)] = props.get(dav.GetEtag.tag)
    deleted = {href_of(url) for url in (collection.deleted_urls or ())}
    for href in deleted:
        listed.pop(href, None)
    return listed, deleted


def _etag_listing(calendar) -> dict[str, str | None]:
    response = calendar._query_properties([dav.GetEtag()], depth=1)
    if response.status != 207:  # e.g. a login page answered 200: never read that as "no objects"
        raise CalendarUnavailable(f"PROPFIND answered HTTP {response.status}")
    props = response.expand_simple_props([dav.GetEtag()])
    own_path = href_of(calendar.url).rstrip("/")
    return {href_of(h): p.get(dav.GetEtag.tag) for h, p in props.items() if href_of(h).rstrip("/") != own_path}


def _multiget(calendar, hrefs: list[str], result: SyncResult) -> dict[str, tuple[str | None, str]]:
    fetched: dict[str, tuple[str | None, str]] = {}
    for i in range(0, len(hrefs), MULTIGET_CHUNK):
        chunk = hrefs[i:i + MULTIGET_CHUNK]
        result.multigets += 1
        for obj in calendar.multiget([calendar.url.join(h) for h in chunk]):
            props = getattr(obj, "props", None) or {}
            data = obj.data
            if isinstance(data, bytes):
                data = data.decode()
            fetched[href_of(obj.url)] = (props.get(dav.GetEtag.tag), data)
    return fetched


def _allow_slow_answers(calendar) -> None:
    """A full listing of a big calendar may take a cold server longer than one normal request
    (Radicale: > 10 s for 2,000 objects on first touch): allow ``FULL_SYNC_TIMEOUT_FACTOR`` times more."""
    client = calendar.client
    if client.timeout:
        client.timeout = client.timeout * FULL_SYNC_TIMEOUT_FACTOR


def fetch(calendar, mode: str, sync_token: str | None, known: dict[str, str | None], full: bool,
          result: SyncResult) -> Fetched:
    """All network work of one sync; raises on any failure."""
    if full or not sync_token or mode == "etag":
        _allow_slow_answers(calendar)
    if mode == "sync":
        token = None if full else sync_token
        try:
            collection = calendar.get_objects_by_sync_token(token, load_objects=False, disable_fallback=True)
        except caldav_error.DAVError as exc:
            if _is_expired_token(exc) and token is not None:
                result.token_expired = True
                _allow_slow_answers(calendar)
                token = None
                collection = calendar.get_objects_by_sync_token(None, load_objects=False, disable_fallback=True)
            elif token is None and not _is_auth_failure(exc) and isinstance(exc, caldav_error.ReportError):
                log.info("calendar %s: no sync-collection support, using etag comparison", result.calendar_key)
                mode = "etag"
                collection = None
            else:
                raise
        if collection is not None:
            listed, deleted = _listing(collection)
            new_token = collection.sync_token
            if not new_token or str(new_token).startswith("fake-"):
                raise CalendarUnavailable("server returned no sync token")
            result.used_token = token is not None
            if token is None:  # full listing: whatever we know and is not listed is gone
                deleted = set(known) - set(listed)
                result.mode = "full"
            else:
                result.mode = "incremental"
            wanted = [h for h, etag in listed.items() if full or etag is None or known.get(h, "\0") != etag]
            fetched = Fetched(mode="sync", token=str(new_token), deleted=set(deleted))
            if wanted:
                fetched.changed = _multiget(calendar, wanted, result)
                fetched.deleted |= set(wanted) - set(fetched.changed)  # vanished in between
            return fetched
    # etag comparison
    listed = _etag_listing(calendar)
    result.mode = "etag"
    wanted = [h for h, etag in listed.items() if full or etag is None or known.get(h, "\0") != etag]
    fetched = Fetched(mode="etag", token=None, deleted=set(known) - set(listed))
    if wanted:
        fetched.changed = _multiget(calendar, wanted, result)
        fetched.deleted |= set(wanted) - set(fetched.changed)
    return fetched
