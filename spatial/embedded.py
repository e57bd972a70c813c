"""The embedded PostGIS cluster: LAPIS's default database when no DATABASE_URL is given.

One cluster lives in ``<data_dir>/postgres`` with its unix socket in ``<data_dir>/run`` and listens on
127.0.0.1 on a free port (kept across restarts while it stays free). PostgreSQL refuses to run as
root, so when we are root the server runs as the ``postgres`` system user (or a ``lapis`` user we
create), which owns the cluster folder. The test suite uses the same class for throwaway clusters.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

SUPERUSER = "lapis"
EXTENSIONS = ("postgis", "unaccent", "pg_trgm")

# Settings that make PostGIS fast for short spatial queries; durability is PostgreSQL's default.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "shared_buffers": "256MB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "jit": "off",
    "max_connections": "200",
    "max_wal_size": "2GB",
    "log_min_messages": "warning",
}
# A throwaway cluster (tests, benchmarks) may lose its data on a crash: trade durability for speed.
THROWAWAY_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
# Continuous archiving (LAPIS_WAL_ARCHIVE=on): each finished 16 MB WAL segment is copied into the archive
# folder under a temporary name and renamed, so a crash never leaves a half-copied segment under its real name;
# `test ! -f` refuses to overwrite a segment already archived (PostgreSQL then retries and logs the failure).
ARCHIVE_COMMAND = "test ! -f {dir}/%f && cp %p {dir}/%f.part && mv {dir}/%f.part {dir}/%f"


class EmbeddedError(RuntimeError):
    """The embedded cluster could not be found, created, started or stopped; the message says why."""


def find_bindir() -> Path:
    """Where initdb/pg_ctl/postgres live: ``pg_config --bindir`` or the newest /usr/lib/postgresql/N/bin."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version_key(p.parent.name))
    candidates.extend(reversed(versions))
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise EmbeddedError(
        "PostgreSQL server binaries not found (no initdb/pg_ctl under `pg_config --bindir` or "
        "/usr/lib/postgresql/*/bin). Install them (Debian: apt-get install postgresql-15 "
        "postgresql-15-postgis-3) or set DATABASE_URL to use an existing server."
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as postgres itself binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass(frozen=True)
class ClusterStatus:
    running: bool
    pid: int | None
    port: int | None
    url: str | None
    data_dir: Path


class EmbeddedCluster:
    """A PostgreSQL + PostGIS cluster owned by LAPIS under ``data_dir``."""

    def __init__(self, data_dir: Path, db_name: str = "lapis", *, throwaway: bool = False,
                 wal_archive: bool = False, wal_archive_dir: Path | None = None, port: int | None = None,
                 extra_settings: dict[str, str] | None = None) -> None:
        """`wal_archive` turns on continuous archiving into `wal_archive_dir` (default <data_dir>/wal-archive);
        `port` pins the port (a replica's); `extra_settings` are added to the server's -c settings."""
        self.data_dir = Path(data_dir).resolve()
        self.pgdata = self.data_dir / "postgres"
        self.socket_dir = self.data_dir / "run"
        self.log_file = self.data_dir / "postgres.log"
        self.state_file = self.data_dir / "cluster.json"
        self.db_name = db_name
        self.throwaway = throwaway
        self.wal_archive = wal_archive
        self.wal_archive_dir = Path(wal_archive_dir).resolve() if wal_archive_dir else self.data_dir / "wal-archive"
        self.fixed_port = port
        self.extra_settings = dict(extra_settings or {})
        self._bindir: Path | None = None

    # -- public API ---------------------------------------------------------------------------
    def url(self, port: int, db_name: str | None = None) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{db_name or self.db_name}"

    def status(self) -> ClusterStatus:
        pid, port = self._read_pidfile()
        running = pid is not None and _pid_alive(pid) and self._is_our_postmaster(pid)
        if not running:
            return ClusterStatus(False, None, None, None, self.data_dir)
        return ClusterStatus(True, pid, port, self.url(port) if port else None, self.data_dir)

    def start(self) -> ClusterStatus:
        """Initialise once, start if not running, make sure the database and extensions exist."""
        current = self.status()
        if current.running and current.port:
            self._ensure_database(current.port)
            return current
        self._initdb_once()
        self._remove_stale_pidfile()
        port = self._choose_port()
        options = " ".join(
            [f"-p {port}", f"-k {shlex.quote(str(self.socket_dir))}"]  # pg_ctl hands -o to a shell
            + [f"-c {shlex.quote(f'{key}={value}')}" for key, value in self._server_settings().items()]
        )
        result = self.run_as_owner(
            [str(self.bindir / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.log_file),
             "-w", "-t", "90", "-o", options, "start"]
        )
        if result.returncode != 0:
            raise EmbeddedError(
                f"pg_ctl start failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}\n"
                f"--- last lines of {self.log_file} ---\n{self.log_tail()}"
            )
        self.state_file.write_text(json.dumps({"port": port}))
        self._ensure_database(port)
        return self.status()

    def stop(self) -> bool:
        """Stop our cluster (only the one in our pgdata). Returns False when it was not running."""
        if not self.status().running:
            self._remove_stale_pidfile()
            return False
        result = self.run_as_owner(
            [str(self.bindir / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60", "stop"]
        )
        if result.returncode != 0:
            raise EmbeddedError(f"pg_ctl stop failed: {result.stderr.strip() or result.stdout.strip()}")
        return True

    def kill(self) -> None:
        """Simulate a crash: SIGKILL the postmaster (tests use this for stale-pid recovery)."""
        pid, _ = self._read_pidfile()
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.05)

    def destroy(self) -> None:
        """Stop and remove the whole data folder (throwaway clusters)."""
        with contextlib.suppress(EmbeddedError):
            self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- internals ---------------------------------------------------------------------------
    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = find_bindir()
        return self._bindir

    def _server_settings(self) -> dict[str, str]:
        settings = dict(SERVER_SETTINGS)
        if self.throwaway:
            settings.update(THROWAWAY_SETTINGS)
        if self.wal_archive:
            settings.update(archive_mode="on", archive_command=ARCHIVE_COMMAND.format(
                dir=shlex.quote(str(self.wal_archive_dir))))
        settings.update(self.extra_settings)
        return settings

    def owner(self) -> pwd.struct_passwd | None:
        """The unprivileged user that runs the server when we are root; None when we are not root."""
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "lapis"):
            with contextlib.suppress(KeyError):
                return pwd.getpwnam(name)
        subprocess.run(["useradd", "--system", "--no-create-home", "lapis"], check=True)
        return pwd.getpwnam("lapis")

    def run_as_owner(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program as the cluster's owner (this user when not root)."""
        owner = self.owner()
        if owner is not None:
            argv = ["runuser", "-u", owner.pw_name, "--", *argv]
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        return subprocess.run(argv, capture_output=True, text=True, check=False, env=env)

    def prepare_folders(self) -> None:
        """Create the data, socket (and archive) folders, owned by the server user when we are root."""
        folders = [self.data_dir, self.socket_dir] + ([self.wal_archive_dir] if self.wal_archive else [])
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        owner = self.owner()
        if owner is None:
            return
        # The server user must be able to reach the data folder: give "search" (x) on each ancestor
        # that lacks it (a `mktemp -d` folder is 0700). Nothing is made readable, only traversable.
        for folder in folders:
            for ancestor in reversed(folder.parents):
                mode = ancestor.stat().st_mode
                if not mode & 0o001:
                    os.chmod(ancestor, mode | 0o001)
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        if not self.log_file.exists():
            self.log_file.touch()
        os.chown(self.log_file, owner.pw_uid, owner.pw_gid)

    def _initdb_once(self) -> None:
        self.prepare_folders()
        if (self.pgdata / "PG_VERSION").exists():
            return
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)  # a half-made folder from an interrupted initdb
        result = self.run_as_owner(
            [str(self.bindir / "initdb"), "-D", str(self.pgdata), "-U", SUPERUSER, "--auth=trust",
             "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"]
        )
        if result.returncode != 0:
            raise EmbeddedError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")

    def _read_pidfile(self) -> tuple[int | None, int | None]:
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return None, None
        try:
            return int(lines[0]), int(lines[3])
        except (IndexError, ValueError):
            return None, None

    def _is_our_postmaster(self, pid: int) -> bool:
        """True when `pid` is a postgres started on our pgdata (a reused pid is someone else's)."""
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return any(arg == str(self.pgdata).encode() for arg in argv) and b"postgres" in argv[0]

    def _remove_stale_pidfile(self) -> None:
        """After a crash postmaster.pid may name a dead (or reused) pid: remove it if no server runs."""
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return
        pid, _ = self._read_pidfile()
        if pid is not None and _pid_alive(pid) and self._is_our_postmaster(pid):
            return
        pidfile.unlink(missing_ok=True)

    def _choose_port(self) -> int:
        if self.fixed_port is not None:
            if not port_is_free(self.fixed_port):
                raise EmbeddedError(f"port {self.fixed_port} is in use by another program")
            return self.fixed_port
        with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
            previous = int(json.loads(self.state_file.read_text())["port"])
            if port_is_free(previous):
                return previous
        return free_port()

    def _ensure_database(self, port: int) -> None:
        """Create our database and extensions, unless the server is a standby or still recovering
        (read-only: what it serves comes from its primary or from the WAL it replays)."""
        with psycopg.connect(self.url(port, "postgres"), autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                return
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.db_name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.db_name}"')
        with psycopg.connect(self.url(port), autocommit=True, connect_timeout=10) as conn:
            for extension in EXTENSIONS:
                conn.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0): treat it as dead.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    return True
