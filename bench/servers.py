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
def server_process(argv: list[str], env: dict[str, str], ready_path: str, cwd: Path | None = None) -> Iterator[str]:
    """Start `argv` (with `{port}` in it replaced by a free port); yield the base URL once
    `ready_path` answers 200; terminate it afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [arg.replace("{port}", str(port)) for arg in argv],
        env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}{ready_path}", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")
