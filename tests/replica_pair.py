"""A primary and its read replica for the replica tests (`tests/spatial/test_replicas.py`, `tests/app/
test_app_replicas.py`): a throwaway embedded cluster of the tests' own, prepared, and a hot standby of it made the way
a steward makes one (`lapis db replica create`); both removed afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from spatial.embedded import EmbeddedCluster, free_port
from spatial.replicas import registered, replica_cluster

LAPIS = [sys.executable, "-m", "app.cli"]


@dataclass
class Pair:
    primary: EmbeddedCluster
    primary_url: str
    replica_url: str  # the server's login on the replica
    port: int
    env: dict[str, str]
    folder: Path

    def lapis(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*LAPIS, *args], capture_output=True, text=True, env=self.env, timeout=180,
                                check=False)
        result.stderr = " ".join(result.stderr.split())  # rich's line wrapping undone
        return result

    def replay(self, action: str) -> None:
        """Pause or resume the replica's replay: a superuser's function, so as the owner (`replica_url` is the
        server's login)."""
        owner = replica_cluster(self.primary, self.port, self.folder).url(self.port)
        execute(owner, f"SELECT pg_wal_replay_{action}()")


def execute(url: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@contextmanager
def replica_pair(prepare: Callable[[str], None]) -> Iterator[Pair]:
    """A primary, `prepare`d (given its owner URL) before the replica copies it, and its replica (outside pytest's
    0700 temp root, as conftest's clusters)."""
    folder = Path(tempfile.mkdtemp(prefix="lapis-test-"))
    primary = EmbeddedCluster(folder / ".data", "lapis", throwaway=True)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["LAPIS_DATA_DIR"] = str(primary.data_dir)
    made = Pair(primary, "", "", free_port(), env, folder / "replica")
    try:
        made.primary_url = primary.start().url or ""
        prepare(made.primary_url)
        created = made.lapis("db", "replica", "create", "--port", str(made.port), "--dir", str(made.folder))
        assert created.returncode == 0, created.stderr
        made.replica_url = created.stdout.strip()
        yield made
    finally:
        if registered(primary):
            made.lapis("db", "replica", "remove", "--port", str(made.port), "--yes")
        primary.destroy()
        shutil.rmtree(folder, ignore_errors=True)
