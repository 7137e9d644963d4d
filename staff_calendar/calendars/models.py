"""Calendar links: where a staff member's or a room's CalDAV calendar lives.

Secrets never stand in the database or the site file, only the name of an environment variable
(``secret_env``) or of a file in ``instance/`` (``secret_file``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from citizen_portal.database import UTCDateTime, utcnow
from citizen_portal.extensions import db


class CalendarLink(db.Model):
    """``key`` is ``staff:<staff key>`` or ``room:<room key>``. A ``url`` that only names the
    server base is resolved through principal discovery (``resolved_url``)."""

    __tablename__ = "calendar_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    owner_kind: Mapped[str] = mapped_column(String(16))  # "staff" | "room"
    owner_key: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(500))
    resolved_url: Mapped[str | None] = mapped_column(String(500))
    username: Mapped[str | None] = mapped_column(String(200))
    secret_env: Mapped[str | None] = mapped_column(String(100))
    secret_file: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
