"""tipg (developmentseed/tipg, from PyPI) as the reference server, in a venv of its own so its pinned
dependencies never mix with LAPIS's. Serves the same database on a port of our choosing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spatial.db import normalise_url
from spatial.embedded import free_port

VENV = Path(__file__).resolve().parent / ".venv-tipg"


def ensure_tipg() -> Path:
    """Create bench/.venv-tipg with tipg + uvicorn (once); returns its bin folder."""
    bin_dir = VENV / "bin"
    if not (bin_dir / "uvicorn").exists() or subprocess.run(
        [str(bin_dir / "python"), "-c", "import tipg"], capture_output=True, check=False
    ).returncode:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(bin_dir / "pip"), "install", "-q", "--disable-pip-version-check", "tipg", "uvicorn"],
                       check=True)
    return bin_dir


def tipg_version() -> str:
    out = subprocess.run([str(ensure_tipg() / "python"), "-c", "import tipg; print(tipg.__version__)"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


@contextmanager
def tipg_server(db_url: str, *, workers: int = 1, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Run tipg on 127.0.0.1:<free port> against db_url; yields its base URL."""
    bin_dir = ensure_tipg()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": normalise_url(db_url),
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_EXCLUDE_TABLES": '["public.spatial_ref_sys", "public.alembic_version", "public.layer_versions"]',
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
        "TIPG_DEFAULT_FEATURES_LIMIT": "10",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [str(bin_dir / "uvicorn"), "tipg.main:app", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/collections", process)
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
