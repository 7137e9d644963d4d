"""What staff see of fair access for one service, without personal data: the waiting list's length,
offers sent/accepted/expired/lost/withdrawn, release windows with their counts, seeds and results,
and the same as CSV (``csv_text``: ids, times, statuses and counts only; no names, addresses or hashes)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select

from citizen_portal.booking.fairness.models import (
    ENTRY_ACTIVE,
    UNCONFIRMED,
    ReleaseRequest,
    ReleaseWindow,
    WaitingEntry,
    WaitingOffer,
)
from citizen_portal.booking.models import Service
from citizen_portal.core.extensions import db


@dataclass
class WindowRow:
    window: ReleaseWindow
    requests: int
    confirmed: int
    won: int


@dataclass
class Report:
    service: Service
    waiting: int
    unconfirmed: int
    offers: Counter
    windows: list[WindowRow]
    recent_offers: list[WaitingOffer]


def service_report(service: Service, *, limit: int = 50) -> Report:
    """The numbers of one service (a few grouped queries)."""
    entries = dict(db.session.execute(select(WaitingEntry.status, func.count(WaitingEntry.id)).where(
        WaitingEntry.service_id == service.id).group_by(WaitingEntry.status)).all())
    offers = Counter(dict(db.session.execute(select(WaitingOffer.status, func.count(WaitingOffer.id)).where(
        WaitingOffer.service_id == service.id).group_by(WaitingOffer.status)).all()))
    windows = db.session.scalars(select(ReleaseWindow).where(ReleaseWindow.service_id == service.id)
                                 .order_by(ReleaseWindow.day.desc()).limit(limit)).all()
    counts = {row.window_id: row for row in db.session.execute(
        select(ReleaseRequest.window_id, func.count(ReleaseRequest.id).label("requests"),
               func.count(ReleaseRequest.confirmed_at).label("confirmed"),
               func.sum(func.coalesce((ReleaseRequest.result == "won").cast(db.Integer), 0)).label("won"))
        .where(ReleaseRequest.window_id.in_([w.id for w in windows])).group_by(ReleaseRequest.window_id)).all()}
    rows = [WindowRow(w, counts[w.id].requests if w.id in counts else 0,
                      counts[w.id].confirmed if w.id in counts else 0,
                      int(counts[w.id].won or 0) if w.id in counts else 0) for w in windows]
    recent = db.session.scalars(select(WaitingOffer).where(WaitingOffer.service_id == service.id)
                                .order_by(WaitingOffer.sent_at.desc()).limit(limit)).all()
    return Report(service, sum(entries.get(status, 0) for status in ENTRY_ACTIVE), entries.get(UNCONFIRMED, 0),
                  offers, rows, list(recent))


CSV_COLUMNS = ("kind", "id", "time", "status", "sent_or_opens", "decided_or_drawn", "requests", "confirmed",
               "allocated", "seed")


def csv_text(report: Report) -> str:
    """Offers and windows of the report as CSV (see the module docstring)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerow(("waiting_list", "", "", "", "", "", report.waiting, "", "", ""))
    for offer in report.recent_offers:
        writer.writerow(("offer", offer.id, offer.start_at.isoformat(), offer.status, offer.sent_at.isoformat(),
                         offer.decided_at.isoformat() if offer.decided_at else "", "", "", "", ""))
    for row in report.windows:
        window = row.window
        writer.writerow(("window", window.id, window.day.isoformat(), window.status, window.opens_at.isoformat(),
                         window.drawn_at.isoformat() if window.drawn_at else "", row.requests, row.confirmed,
                         row.won, window.seed or ""))
    return out.getvalue()
