"""HTTP load with wrk (Debian's `wrk`): requests/s and latency percentiles over a list of paths.

wrk is a C load generator, so on a 2-core machine the client costs far less than a Python client
would and the server under test gets the CPU. Each wrk thread cycles through the same path list.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

LUA = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local i = 0
%(headers)s
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


@dataclass(frozen=True)
class LoadResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int

    def row(self) -> str:
        return (f"{self.requests_per_s:9.1f} req/s  p50 {self.p50_ms:7.2f} ms  p99 {self.p99_ms:7.2f} ms"
                f"  ({self.requests} requests, {self.errors} errors)")


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def measure(base_url: str, paths: list[str], *, seconds: int = 10, connections: int = 8, threads: int = 1,
            headers: dict[str, str] | None = None, timeout: int = 30) -> LoadResult:
    """Run wrk against base_url cycling over `paths`; non-2xx/3xx responses count as errors, and so do
    responses slower than `timeout` seconds (wrk's own default, 2 s, would turn slow tiles into errors)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        path_file = Path(tmp) / "paths.txt"
        path_file.write_text("\n".join(paths) + "\n")
        header_lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in (headers or {}).items())
        script = Path(tmp) / "paths.lua"
        script.write_text(LUA % {"paths": path_file, "headers": header_lines})
        out = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(max(connections, threads)), "-d", f"{seconds}s",
             "--timeout", f"{timeout}s", "--latency", "-s", str(script), base_url.rstrip("/")],
            capture_output=True, text=True, check=True,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    percentiles = {int(p): _ms(v, u) for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)}
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in match.groups())
    return LoadResult(rps, percentiles.get(50, float("nan")), percentiles.get(99, float("nan")), total, errors)


def ratio(ours: float, reference: float) -> str:
    return f"{ours / reference:.2f}×" if reference else "n/a"
