"""Run a command (by default the SQLite test pass) with the clock set to an awkward moment.

The suite must pass at any hour. This starts the command with the wall clock moved (by the
``LD_PRELOAD`` library below) to the next occurrence of one of these local moments
(``PORTAL_TIMEZONE``, Europe/Berlin):

    friday-evening   a Friday, 20:30 (afternoon half-days and opening hours are over)
    sunday-night     a Sunday, 23:55 (midnight and a new week arrive during the run)
    dst-monday       the Monday after the spring DST change, 07:55
    new-years-eve    31 December, 23:50 (a new year arrives during the run)
    rotate           one of the four, chosen by the day of the year (``make test-clock``'s default;
                     CI runs all four: ``.ci/run``)

The wall clock is shifted by a fixed offset, so it keeps running and every child process (Radicale,
gunicorn, Chromium, SQLite) sees the same time; monotonic clocks stay real, so sleeps, timeouts and
locks behave. The shift is a 50-line ``LD_PRELOAD`` library (``scripts/fakeclock/fakeclock.c``),
compiled on first use with the C compiler: Debian's libfaketime 0.9.10 cannot run Python 3.11
(with ``FAKETIME_DONT_FAKE_MONOTONIC`` ``time.sleep`` fails with EINVAL, without it every threading
timeout waits for the whole offset).

    python scripts/faked_clock.py friday-evening                 # SQLite pass of the whole suite
    python scripts/faked_clock.py new-years-eve -- -x tests/staff_calendar
    python scripts/faked_clock.py sunday-night --command 'date'  # any command
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

MOMENTS = ("friday-evening", "sunday-night", "dst-monday", "new-years-eve")
SOURCE = Path(__file__).resolve().parent / "fakeclock" / "fakeclock.c"
LIBRARY = Path(__file__).resolve().parent.parent / "build" / "fakeclock.so"


def _next_weekday(after: date, weekday: int) -> date:
    return after + timedelta(days=(weekday - after.weekday()) % 7 or 7)


def _last_sunday_of_march(year: int) -> date:
    day = date(year, 3, 31)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def moment(name: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The next local ``name`` moment after ``now`` (aware, in ``zone``)."""
    today = now.astimezone(zone).date()
    if name == "rotate":
        name = MOMENTS[today.toordinal() % len(MOMENTS)]
    if name == "friday-evening":
        day, clock = _next_weekday(today, 4), time(20, 30)
    elif name == "sunday-night":
        day, clock = _next_weekday(today, 6), time(23, 55)
    elif name == "dst-monday":
        change = _last_sunday_of_march(today.year)
        if change + timedelta(days=1) <= today:
            change = _last_sunday_of_march(today.year + 1)
        day, clock = change + timedelta(days=1), time(7, 55)
    elif name == "new-years-eve":
        day, clock = date(today.year, 12, 31), time(23, 50)
        if day <= today:
            day = date(today.year + 1, 12, 31)
    else:
        raise SystemExit(f"unknown moment {name!r}; choose one of {', '.join((*MOMENTS, 'rotate'))}")
    return datetime.combine(day, clock, tzinfo=zone)


def build_library() -> Path:
    """Compile the clock shim into ``build/`` when it is missing or older than its source."""
    if not LIBRARY.exists() or LIBRARY.stat().st_mtime < SOURCE.stat().st_mtime:
        LIBRARY.parent.mkdir(exist_ok=True)
        compiler = os.environ.get("CC") or shutil.which("cc") or "gcc"
        subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-Wall", "-o", str(LIBRARY), str(SOURCE), "-ldl"],
                       check=True)
    return LIBRARY


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("moment", choices=[*MOMENTS, "rotate"])
    parser.add_argument("--command", help="command to run instead of the SQLite test pass")
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (after --)")
    args = parser.parse_args(argv)

    library = build_library()
    zone = ZoneInfo(os.environ.get("PORTAL_TIMEZONE", "Europe/Berlin"))
    now = datetime.now(UTC)
    target = moment(args.moment, now, zone)
    offset = int((target - now).total_seconds())
    print(f"faked clock: {args.moment} = {target.isoformat()} ({target.astimezone(UTC):%Y-%m-%d %H:%M} UTC), "
          f"offset {offset:+d} s", flush=True)

    env = {**os.environ, "LD_PRELOAD": str(library), "FAKECLOCK_OFFSET_SECONDS": str(offset),
           "PORTAL_TEST_DB": "sqlite"}
    if args.command:
        command = shlex.split(args.command)
    else:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args.pytest_args]
    executable = shutil.which(command[0]) or command[0]
    os.execve(executable, command, env)


if __name__ == "__main__":
    sys.exit(main())
