"""Time intervals as (start, end) pairs of datetimes or POSIX seconds."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

Moment = TypeVar("Moment", datetime, int)


def merge_intervals(intervals: list[tuple[Moment, Moment]]) -> list[tuple[Moment, Moment]]:
    """Overlapping or touching intervals joined, sorted by start."""
    merged: list[tuple[Moment, Moment]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged
