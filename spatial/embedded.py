"""The embedded PostGIS cluster: LAPIS's default database when no DATABASE_URL is given.

One cluster lives in ``<data_dir>/postgres`` with its unix socket in ``<data_dir>/run`` and listens on
127.0.0.1 on a free port (kept across restarts while it stays free). PostgreSQL refuses to run as
root, so when we are root the server runs as the ``postgres`` system user (or a ``lapis`` user we
create), which owns the cluster folder. The test suite uses the same class for throwaway clusters.

Every connection needs a password (`spatial.cluster_auth`: SCRAM, kept in ``<data_dir>/pgpass``, mode 0600); the
data and socket folders are private to the server's user. `url()` is the owner's (migrations, loads), `app_url()`
the server's login `lapis_app` (`spatial.dbroles`), which every start makes sure exists.
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
from urllib.parse import quote

import psycopg

from spatial import cluster_auth, dbroles
from spatial.cluster_auth import APP_ROLE, OWNER, Credentials

SUPERUSER = OWNER
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
    "unix_socket_permissions": "0700",  # and the socket's folder is the server user's own, mode 0700
    "password_encryption": "scram-sha-256",
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
    url: str | None  # the owner's (with its password)
    data_dir: Path
    app_url: str | None = None  # the server's login, lapis_app (with its password)


class EmbeddedCluster:
    """A PostgreSQL + PostGIS cluster owned by LAPIS under ``data_dir``."""

    def __init__(self, data_dir: Path, db_name: str = "lapis", *, throwaway: bool = False,
                 wal_archive: bool = False, wal_archive_dir: Path | None = None, port: int | None = None,
                 extra_settings: dict[str, str] | None = None, passfile: Path | None = None) -> None:
        """`wal_archive` turns on continuous archiving into `wal_archive_dir` (default <data_dir>/wal-archive);
        `port` pins the port (a replica's); `extra_settings` are added to the server's -c settings; `passfile`
        is where the passwords are kept (default <data_dir>/pgpass; a replica uses its primary's)."""
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
        self.passfile = Path(passfile).resolve() if passfile else self.data_dir / cluster_auth.PASSFILE
        self._bindir: Path | None = None

    # -- public API ---------------------------------------------------------------------------
    def url(self, port: int, db_name: str | None = None) -> str:
        """The owner's URL (its password included: never print it, see spatial.conninfo)."""
        return self._login_url(OWNER, port, db_name)

    def app_url(self, port: int, db_name: str | None = None) -> str:
        """The URL of the server's login role, lapis_app (password included)."""
        return self._login_url(APP_ROLE, port, db_name)

    def passfile_url(self, port: int, db_name: str | None = None, role: str = APP_ROLE) -> str:
        """A URL that names the pgpass file instead of holding the password (libpq, psycopg and asyncpg read it):
        safe to print, and it works as long as the file is readable by whoever connects."""
        return f"postgresql://{role}@127.0.0.1:{port}/{db_name or self.db_name}?passfile={quote(str(self.passfile))}"

    def credentials(self) -> Credentials | None:
        return cluster_auth.read_credentials(self.passfile)

    def _login_url(self, role: str, port: int, db_name: str | None) -> str:
        credentials = self.credentials()
        password = credentials.passwords.get(role) if credentials else None
        login = f"{role}:{password}" if password else role
        return f"postgresql://{login}@127.0.0.1:{port}/{db_name or self.db_name}"

    def status(self) -> ClusterStatus:
        pid, port = self._read_pidfile()
        running = pid is not None and _pid_alive(pid) and self._is_our_postmaster(pid)
        if not running or not port:
            return ClusterStatus(running, pid if running else None, None, None, self.data_dir)
        return ClusterStatus(True, pid, port, self.url(port), self.data_dir, self.app_url(port))

    def start(self) -> ClusterStatus:
        """Initialise once, make sure nothing connects without a password, start if not running, make sure
        the database, its extensions and the app's login role exist."""
        current = self.status()
        self.prepare_folders()
        created = self._initdb_once()
        try:
            cluster_auth.refuse_lost_password(self, running=current.running)
            credentials, new = cluster_auth.ensure_credentials(self.passfile)
            if created or OWNER in new or cluster_auth.hba_trusts(self.pgdata / "pg_hba.conf"):
                self._remove_stale_pidfile()
                cluster_auth.secure(self, credentials, current.port if current.running else None)
        except cluster_auth.ClusterAuthError as exc:
            raise EmbeddedError(str(exc)) from None
        if current.running and current.port:
            self._ensure_database(current.port, reset_app_password=APP_ROLE in new)
            return self.status()
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
        self._ensure_database(port, reset_app_password=APP_ROLE in new)
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

    def run_as_owner(self, argv: list[str], *, input: str | None = None,
                     env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program as the cluster's owner (this user when not root)."""
        owner = self.owner()
        if owner is not None:
            argv = ["runuser", "-u", owner.pw_name, "--", *argv]
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", **(env or {})}
        return subprocess.run(argv, capture_output=True, text=True, check=False, env=env, input=input)

    def prepare_folders(self) -> None:
        """Create the data, socket (and archive) folders, private (0700) to the server user (owned by it when we
        are root)."""
        folders = [self.data_dir, self.socket_dir] + ([self.wal_archive_dir] if self.wal_archive else [])
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        owner = self.owner()
        if owner is None:
            return
        # The server user must be able to reach the data folder: give "search" (x) on each ancestor
        # that lacks it (a `mktemp -d` folder is 0700). Nothing is made readable, only traversable.
        for folder in folders:
            for ancestor in reversed(folder.parents):
                info = ancestor.stat()
                if ancestor not in folders and info.st_uid != owner.pw_uid and not info.st_mode & 0o001:
                    os.chmod(ancestor, info.st_mode | 0o001)
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        if not self.log_file.exists():
            self.log_file.touch()
        os.chown(self.log_file, owner.pw_uid, owner.pw_gid)

    def _initdb_once(self) -> bool:
        """Make the cluster unless it exists; True when made. It admits nobody (`reject`) until secured."""
        if (self.pgdata / "PG_VERSION").exists():
            return False
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)  # a half-made folder from an interrupted initdb
        result = self.run_as_owner(
            [str(self.bindir / "initdb"), "-D", str(self.pgdata), "-U", SUPERUSER, "--auth=reject",
             "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"]
        )
        if result.returncode != 0:
            raise EmbeddedError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")
        return True

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

    def _ensure_database(self, port: int, *, reset_app_password: bool = False) -> None:
        """Create our database, its extensions and the app's login role, unless the server is a standby or still
        recovering (read-only: what it serves comes from its primary or from the WAL it replays)."""
        with psycopg.connect(self.url(port, "postgres"), autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                return
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.db_name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.db_name}"')
            self._ensure_app_role(conn, reset_app_password)
        with psycopg.connect(self.url(port), autocommit=True, connect_timeout=10) as conn:
            for extension in EXTENSIONS:
                conn.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")

    def _ensure_app_role(self, conn: psycopg.Connection, reset_password: bool) -> None:
        state = dbroles.login_role_ok(conn)
        if state and not reset_password:
            return
        credentials = self.credentials()
        if credentials is None or APP_ROLE not in credentials.passwords:
            raise EmbeddedError(f"{self.passfile} holds no password for {APP_ROLE}")
        verifier = cluster_auth.scram_verifier(credentials.password(APP_ROLE))
        dbroles.ensure_login_role(conn, verifier if state is None or reset_password else None)

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
