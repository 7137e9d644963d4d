"""HTTP semantics of every ``/api/v1`` operation, applied by the operation wrapper (``core.api``):

- **Cursor pagination** of lists: ``?limit=`` (1..``MAX_LIMIT``, default ``DEFAULT_LIMIT``) and an
  opaque ``?cursor=`` from the previous page's ``Link: <...>; rel="next"`` header; the last page has
  no such link. A bad cursor or limit is a 400 problem.
- **ETag** on every successful GET (a hash of the body); ``If-None-Match`` with it answers 304.
- **If-Match** on PATCH and DELETE of a resource that has a GET: a tag other than the current one
  answers 412 (the write does not happen).
- **RateLimit-Policy** / **RateLimit** (IETF draft) next to flask-limiter's own headers and its
  integer ``Retry-After`` on rate-limited operations.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from functools import lru_cache
from urllib.parse import quote

from flask import Response, current_app, request
from werkzeug.http import parse_etags

from citizen_portal.core.errors import DomainError, Invalid
from citizen_portal.core.i18n import _l

DEFAULT_LIMIT = 1000  # existing clients read a whole answer (4 weeks of slots: ~540) in one page
MAX_LIMIT = 1000
PAGING_PARAMETERS = frozenset({"cursor", "limit"})


class PreconditionFailed(DomainError):
    status = 412
    code = "precondition_failed"
    default_message = _l("Der Eintrag wurde inzwischen geändert. Bitte laden Sie ihn neu.")


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        text = ""
    match = re.fullmatch(r"o:(\d{1,9})", text)
    if match is None:
        raise Invalid(fields={"cursor": _l("Dieser Cursor ist ungültig. Bitte folgen Sie dem Link-Header.")})
    return int(match.group(1))


def page_window() -> tuple[int, int]:
    """(offset, limit) of the request's ``cursor`` and ``limit``."""
    raw_limit = request.args.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not re.fullmatch(r"[0-9]{1,4}", raw_limit.strip()) or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise Invalid(fields={"limit": _l("Bitte eine ganze Zahl von 1 bis %(max)s angeben.", max=MAX_LIMIT)})
        limit = int(raw_limit)
    cursor = request.args.get("cursor")
    return (_decode_cursor(cursor) if cursor is not None else 0), limit


# A cached answer's body is one bytes object served again and again (``core.api.raw_json_response``);
# bytes keep their hash, so these memos cost one lookup for it and parse or hash it once.
BODY_MEMO_SIZE = 64


@lru_cache(maxsize=BODY_MEMO_SIZE)
def _item_count(body: bytes, key: str) -> int:
    return len(json.loads(body).get(key, []))


@lru_cache(maxsize=BODY_MEMO_SIZE)
def _etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def paginate(response: Response, key: str, window: tuple[int, int]) -> Response:
    """Cut the list ``key`` of a JSON answer to the requested page and link the next one."""
    offset, limit = window
    if offset == 0 and _item_count(response.get_data(), key) <= limit:
        return response  # one page: the answer as it is (a cached body stays byte for byte)
    payload = json.loads(response.get_data())
    items = payload.get(key, [])
    payload[key] = items[offset:offset + limit]
    response.set_data(current_app.json.dumps(payload) + "\n")
    if offset + limit < len(items):
        arguments = [(name, value) for name, value in request.args.items(multi=True) if name not in PAGING_PARAMETERS]
        arguments += [("cursor", _encode_cursor(offset + limit)), ("limit", str(limit))]
        query = "&".join(f"{name}={_quote(value)}" for name, value in arguments)
        response.headers["Link"] = f'<{request.path}?{query}>; rel="next"'
    return response


def _quote(value: str) -> str:
    return quote(value, safe="")


def etag_of(response: Response) -> str:
    return _etag(response.get_data())


CONDITIONAL_HEADERS = ("If-None-Match", "If-Modified-Since", "Range", "If-Range")


def conditional(response: Response) -> Response:
    """A successful GET answer with its ``ETag``; 304 when ``If-None-Match`` names it."""
    response.set_etag(etag_of(response))
    if not any(name in request.headers for name in CONDITIONAL_HEADERS):
        return response  # nothing to compare: werkzeug's make_conditional would only add a Date
    return response.make_conditional(request)


def check_if_match(current: Response) -> None:
    """``If-Match`` against the current representation (``current``: the resource's GET answer)."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    tags = parse_etags(header)
    if current.status_code != 200 or (not tags.contains_weak(etag_of(current)) and not tags.star_tag):
        raise PreconditionFailed()


def rate_limit_fields(response: Response) -> Response:
    """The IETF ``RateLimit-Policy`` and ``RateLimit`` fields from flask-limiter's headers."""
    limit, remaining = response.headers.get("X-RateLimit-Limit"), response.headers.get("X-RateLimit-Remaining")
    reset = response.headers.get("X-RateLimit-Reset")
    if limit and remaining is not None and reset and request.path.startswith("/api/"):
        seconds = max(int(float(reset) - time.time()), 0)
        response.headers["RateLimit-Policy"] = f'"default";q={limit}'
        response.headers["RateLimit"] = f'"default";r={remaining};t={seconds}'
    return response

