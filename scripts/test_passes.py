"""The whole test run of ``make test``: every pass, two at a time, with progress and a summary.

Passes (``PASSES``):
- the whole suite on SQLite and on PostgreSQL;
- the tests that book, list or show times (``CLOCK_TESTS``) on SQLite under each awkward moment of
  ``scripts/faked_clock.py``: Friday 20:30, Sunday 23:55, the Monday after the spring DST change 07:55,
  31 December 23:50. The suite must pass at any hour; these four make CI prove it on every run.

Two passes run at once (the machine has two cores and most of a pass waits for servers and the browser);
each output line is prefixed with its pass. Exit status 1 when any pass failed; the summary at the end repeats
every failed test by name (CI keeps only the tail of the output).

    python scripts/test_passes.py               # everything (what make test runs after ruff)
    python scripts/test_passes.py sqlite dst-monday
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from faked_clock import MOMENTS, build_library  # noqa: E402

CLOCK_TESTS = ("tests/citizen_portal", "tests/staff_calendar/spaces", "tests/polls")
PARALLEL = 2


def _passes() -> dict[str, list[str]]:
    python = sys.executable
    pytest = [python, "-m", "pytest", "-p", "no:cacheprovider"]
    passes = {"sqlite": ["env", "PORTAL_TEST_DB=sqlite", *pytest],
              "postgresql": ["env", "PORTAL_TEST_DB=postgresql", *pytest]}
    for moment in MOMENTS:
        passes[moment] = [python, str(ROOT / "scripts" / "faked_clock.py"), moment, "--", *CLOCK_TESTS]
    return passes


def _run(name: str, command: list[str], results: dict[str, tuple[int, float]], lock: threading.Lock,
         failures: dict[str, list[str]]) -> None:
    started = time.monotonic()
    failed: list[str] = []
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1) as process:
        for line in process.stdout:
            if line.startswith(("FAILED ", "ERROR ")):
                failed.append(line.rstrip()[:300])
            with lock:
                print(f"[{name}] {line}", end="", flush=True)
    results[name] = (process.returncode, time.monotonic() - started)
    failures[name] = failed


def main(selected: list[str]) -> int:
    passes = _passes()
    unknown = [name for name in selected if name not in passes]
    if unknown:
        raise SystemExit(f"unknown pass {', '.join(unknown)}; choose from {', '.join(passes)}")
    names = selected or list(passes)
    build_library()  # once, before two passes could compile it at the same time
    results: dict[str, tuple[int, float]] = {}
    failures: dict[str, list[str]] = {}
    lock = threading.Lock()
    waiting = list(names)
    running: list[threading.Thread] = []
    while waiting or running:
        running = [thread for thread in running if thread.is_alive()]
        while waiting and len(running) < PARALLEL:
            name = waiting.pop(0)
            thread = threading.Thread(target=_run, args=(name, passes[name], results, lock, failures))
            thread.start()
            running.append(thread)
        time.sleep(0.5)
    print("\ntest passes:")
    for name in names:
        code, seconds = results[name]
        print(f"  {name:16} {'passed' if code == 0 else f'FAILED (exit {code})':18} {seconds / 60:5.1f} min")
        for line in failures.get(name, []):
            print(f"      {line}")
    return 0 if all(code == 0 for code, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
