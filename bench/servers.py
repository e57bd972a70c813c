"""Run an HTTP server under test as a subprocess on a free loopback port, until it answers."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spatial.embedded import free_port


@contextmanager
def server_process(argv: list[str], env: dict[str, str], ready_path: str, cwd: Path | None = None,
                   log: Path | None = None) -> Iterator[str]:
    """Start `argv` (with `{port}` in it replaced by a free port); yield the base URL once
    `ready_path` answers 200; terminate it afterwards. With `log`, the server's standard output and error go to
    that file (as a real server's would; else stdout is discarded)."""
    port = free_port()
    out = log.open("wb") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        [arg.replace("{port}", str(port)) for arg in argv],
        env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT if log is not None else subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}{ready_path}", process, log)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        if log is not None:
            out.close()


def wait_until_up(url: str, process: subprocess.Popen, log: Path | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = log.read_bytes() if log is not None else process.stderr.read()
            raise RuntimeError(f"server exited: {said.decode(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")
