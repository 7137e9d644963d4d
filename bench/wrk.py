"""``wrk`` as the load generator of the read (and ballot) benchmarks: one C process with 2 threads
and 16 keep-alive connections drives far more requests per second than Python client threads on
the same two cores, so the figures measure the server and not the client.

``available()`` says whether ``wrk`` is on the PATH; ``run(url, seconds, ...)`` runs it once and
returns req/s, p50/p95/p99 (ms), the number of non-2xx answers and socket errors, read from a Lua
``done`` hook that prints them as one JSON line. ``body_lines`` (a file, one JSON body per line)
makes it POST those bodies in turn from ``first_line`` on (each wrk thread takes every n-th line),
e.g. one ballot per code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPORT = r"""
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('WRKJSON {"requests": %d, "seconds": %f, "non2xx": %d, "errors": %d, '
    .. '"p50": %f, "p95": %f, "p99": %f}\n', summary.requests, summary.duration / 1e6,
    summary.errors.status, errors, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
end
"""

POST_BODIES = r"""
local threads, counter = {}, 1
setup = function(thread)
  thread:set("id", counter)
  thread:set("step", 0)
  table.insert(threads, thread)
  counter = counter + 1
end
init = function(args)
  lines = {}
  for line in io.lines(args[1]) do table.insert(lines, line) end
  nthreads = tonumber(args[2])
  index = id + tonumber(args[3])
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end
request = function()
  local body = lines[index]
  index = index + nthreads
  if body == nil then body = lines[1] end
  return wrk.format(nil, nil, nil, body)
end
"""


@dataclass
class WrkResult:
    requests: int
    seconds: float
    non2xx: int
    errors: int
    p50: float
    p95: float
    p99: float

    @property
    def rps(self) -> float:
        """Successful (2xx) requests per second."""
        return max(self.requests - self.non2xx, 0) / self.seconds


def available() -> bool:
    return shutil.which("wrk") is not None


def run(url: str, seconds: float, *, threads: int = 2, connections: int = 16, headers: dict[str, str] | None = None,
        body_lines: Path | None = None, first_line: int = 0) -> WrkResult:
    """One wrk run against ``url`` (see the module docstring)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write((POST_BODIES if body_lines else "") + REPORT)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(round(seconds), 1)}s", "--timeout", "10s",
               "-s", script.name]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    if body_lines:
        command += ["--", str(body_lines), str(threads), str(first_line)]
    try:
        output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    finally:
        Path(script.name).unlink(missing_ok=True)
    line = next(line for line in output.splitlines() if line.startswith("WRKJSON "))
    return WrkResult(**json.loads(line.removeprefix("WRKJSON ")))
