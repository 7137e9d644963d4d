"""``Idempotency-Key`` on API POSTs: the same key and the same request within ``WINDOW`` get the first
answer again (nothing is done twice); the same key with another request is 422. Keys are scoped per
principal: the authenticated user (API token or session), else the client address.
Only the answers a view returned are kept (errors are not: repeating such a request checks again);
older rows are replaced when their key comes again and removed by ``purge`` (the worker's
``api-idempotency`` job)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from flask import Response, current_app, request
from flask_login import current_user
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from citizen_portal.core.errors import DomainError, Invalid
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, utc_now
from citizen_portal.core.models import IdempotentAnswer

WINDOW = timedelta(hours=24)
HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,200}")


class KeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"
    default_message = _l("Dieser Idempotency-Key wurde schon für eine andere Anfrage verwendet.")


def principal() -> str:
    if getattr(current_user, "is_authenticated", False):
        return f"user:{current_user.id}"
    return f"address:{request.remote_addr or '-'}"


def request_key() -> str | None:
    """The request's key, checked: printable ASCII without spaces, at most 200 characters."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not KEY_PATTERN.fullmatch(key):
        raise Invalid(fields={HEADER: _l("Bitte 1 bis 200 druckbare Zeichen ohne Leerzeichen angeben.")})
    return key


def _fingerprint() -> str:
    request_line = f"{request.method} {request.path}\n".encode()
    return hashlib.sha256(request_line + request.get_data()).hexdigest()


def replay(key: str, *, now: datetime | None = None) -> Response | None:
    """The stored first answer for ``key`` (422 if it was for another request), or None."""
    now = now or utc_now()
    row = db.session.scalar(select(IdempotentAnswer).where(
        IdempotentAnswer.principal == principal(), IdempotentAnswer.key == key,
        IdempotentAnswer.created_at > now - WINDOW))
    if row is None:
        return None
    if row.request_hash != _fingerprint():
        raise KeyReused()
    response = current_app.response_class(row.body, status=row.status, content_type=row.content_type)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def remember(key: str, response: Response, *, now: datetime | None = None) -> None:
    """Keep ``response`` as the answer for ``key`` (a concurrent first request with the key wins)."""
    if response.status_code >= 500 or response.status_code == 429:
        return
    now = now or utc_now()
    who = principal()
    try:
        db.session.execute(delete(IdempotentAnswer).where(
            IdempotentAnswer.principal == who, IdempotentAnswer.key == key))
        db.session.add(IdempotentAnswer(principal=who, key=key, request_hash=_fingerprint(),
                                        status=response.status_code, content_type=response.content_type or "",
                                        body=response.get_data(), created_at=now))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def purge(*, now: datetime | None = None) -> int:
    """Remove answers older than the replay window; returns how many."""
    now = now or utc_now()
    result = db.session.execute(delete(IdempotentAnswer).where(IdempotentAnswer.created_at <= now - WINDOW))
    db.session.commit()
    return result.rowcount or 0
