"""tipg (developmentseed/tipg, from PyPI) as the reference server, in a venv of its own so its pinned
dependencies never mix with LAPIS's. Serves the same database on a port of our choosing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.servers import server_process
from spatial.db import normalise_url

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
    env = {
        **os.environ,
        "DATABASE_URL": normalise_url(db_url),
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_EXCLUDE_TABLES": '["public.spatial_ref_sys", "public.alembic_version", "public.layer_versions"]',
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
        "TIPG_DEFAULT_FEATURES_LIMIT": "10",
        **(extra_env or {}),
    }
    argv = [str(bin_dir / "uvicorn"), "tipg.main:app", "--host", "127.0.0.1", "--port", "{port}",
            "--workers", str(workers), "--log-level", "warning"]
    with server_process(argv, env, "/collections") as base:
        yield base
