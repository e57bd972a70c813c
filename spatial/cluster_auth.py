"""Who may connect to the embedded cluster, and with which password.

The cluster never trusts a connection: `pg_hba.conf` asks every one — on the socket and on 127.0.0.1 alike — for a
SCRAM-SHA-256 password, and the socket and data folders are private to the server's OS user (mode 0700). The
passwords (one per login role: the owner and the app's login, see `spatial.dbroles`) are generated once, at
random, and kept in `<data_dir>/pgpass` (mode 0600, libpq's password-file format, so `PGPASSFILE=.data/pgpass psql
…` works too). Only their SCRAM verifiers ever reach the server: `ALTER ROLE … PASSWORD 'SCRAM-SHA-256$…'` stores
the verifier as given, so no plaintext password can end up in a server log or in `pg_stat_activity`.

A cluster made before this (`initdb --auth=trust`) is upgraded when it starts: its owner gets a password (in
single-user mode when the server is down, over the trusted connection when it is up) and pg_hba.conf is rewritten.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from pwd import struct_passwd
from subprocess import CompletedProcess
from typing import Protocol

import psycopg

from spatial.dbroles import APP_ROLE

OWNER = "lapis"  # the bootstrap superuser: owns every object, runs migrations and loads (the CLI)
PASSFILE = "pgpass"
SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)
_SAFE_PASSWORD = re.compile(r"[A-Za-z0-9_-]{16,}")  # what new_password makes: nothing to quote anywhere

# What pg_hba.conf says: a password for everyone, on the socket and on the loopback addresses (the only ones the
# server listens on); replication (replicas, base backups) the same.
HBA_CONF = """\
# Written by LAPIS (spatial/cluster_auth.py): every connection needs a password (SCRAM-SHA-256), never `trust`.
# The passwords are in the data folder's `pgpass` file (mode 0600). `lapis db start` rewrites a file that trusts.
# TYPE  DATABASE        USER            ADDRESS                 METHOD
local   all             all                                     scram-sha-256
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
local   replication     all                                     scram-sha-256
host    replication     all             127.0.0.1/32            scram-sha-256
host    replication     all             ::1/128                 scram-sha-256
"""


class Cluster(Protocol):
    """What securing needs of a cluster (`spatial.embedded.EmbeddedCluster`, which uses this module)."""

    pgdata: Path
    passfile: Path

    @property
    def bindir(self) -> Path: ...

    def url(self, port: int, db_name: str | None = None) -> str: ...

    def owner(self) -> struct_passwd | None: ...

    def run_as_owner(self, argv: list[str], *, input: str | None = None,
                     env: dict[str, str] | None = None) -> CompletedProcess[str]: ...


class ClusterAuthError(RuntimeError):
    """The cluster could not be given its passwords (the message says how to fix it)."""


@dataclass(frozen=True)
class Credentials:
    """The login roles' passwords, as kept in the pgpass file."""

    passwords: dict[str, str]
    path: Path

    def password(self, role: str) -> str:
        return self.passwords[role]


def new_password() -> str:
    """192 random bits, URL-safe: usable as is in a URL, a conninfo, a pgpass line and an SQL literal."""
    return secrets.token_urlsafe(24)


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, as libpq's PQencryptPasswordConn
    computes it; the password is ASCII, so SASLprep leaves it as it is)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def read_credentials(path: Path) -> Credentials | None:
    """The passwords in the pgpass file `path` (None when there is none)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    passwords: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = re.split(r"(?<!\\):", line)
        if len(fields) == 5:
            passwords.setdefault(fields[3], fields[4])
    return Credentials(passwords, path)


def ensure_credentials(path: Path, roles: tuple[str, ...] = (OWNER, APP_ROLE)) -> tuple[Credentials, set[str]]:
    """The passwords of `roles`, generating those the file lacks; returns them and the roles given a new one."""
    current = read_credentials(path)
    passwords = dict(current.passwords) if current else {}
    new = {role for role in roles if role not in passwords}
    for role in sorted(new):
        passwords[role] = new_password()
    if new or current is None or (path.stat().st_mode & 0o077):
        write_passfile(path, passwords)
    return Credentials(passwords, path), new


def passfile_lines(passwords: dict[str, str], hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> str:
    """pgpass lines for `passwords`, limited to `hosts` ("localhost" also matches a socket connection)."""
    for password in passwords.values():
        if not _SAFE_PASSWORD.fullmatch(password):
            raise ValueError("a generated password must be URL-safe (letters, digits, - and _)")
    def field(value: str) -> str:  # pgpass escapes a backslash and a colon with a backslash
        return value.replace("\\", "\\\\").replace(":", "\\:")

    return "".join(f"{field(host)}:*:*:{role}:{password}\n" for role, password in passwords.items() for host in hosts)


def write_passfile(path: Path, passwords: dict[str, str], hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
                   *, note: str = "LAPIS database passwords (libpq password file): keep it private") -> None:
    """Write the pgpass file atomically, mode 0600 from its first byte (never readable by anyone else)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write(f"# {note}\n" + passfile_lines(passwords, hosts))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def hba_trusts(hba_file: Path) -> bool:
    """True when an active line of pg_hba.conf admits a connection without a password (`trust`)."""
    for line in hba_file.read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if words and "trust" in words[3:]:
            return True
    return False


def write_hba(pgdata: Path, uid: int | None = None, gid: int | None = None) -> None:
    """Replace pg_hba.conf by LAPIS's (owned by the server's user `uid`, when given, mode 0600)."""
    hba = pgdata / "pg_hba.conf"
    tmp = hba.with_name(".pg_hba.conf.lapis")
    tmp.write_text(HBA_CONF)
    os.chmod(tmp, 0o600)
    if uid is not None and gid is not None:
        os.chown(tmp, uid, gid)
    os.replace(tmp, hba)


def set_password_sql(role: str, password: str) -> str:
    """`ALTER ROLE role PASSWORD '<verifier>'` — the verifier only; `role` is one of ours (a plain identifier)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", role):
        raise ValueError(f"not a LAPIS role name: {role!r}")
    return f"ALTER ROLE {role} PASSWORD '{scram_verifier(password)}'"


def secure(cluster: Cluster, credentials: Credentials, running_port: int | None) -> None:
    """Give the owner its password (the verifier of the one in the pgpass file) and write LAPIS's pg_hba.conf: in
    single-user mode when the server is down, over its still-trusting connection when it is up. A standby only
    gets the pg_hba.conf: its roles and passwords come from its primary."""
    statement = set_password_sql(OWNER, credentials.password(OWNER))
    standby = (cluster.pgdata / "standby.signal").exists()
    if running_port is not None and not standby:
        with psycopg.connect(cluster.url(running_port, "postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)
    elif not standby:
        _single_user(cluster, statement)
    owner = cluster.owner()
    write_hba(cluster.pgdata, *((owner.pw_uid, owner.pw_gid) if owner else (None, None)))
    if running_port is not None:
        with psycopg.connect(cluster.url(running_port, "postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute("SELECT pg_reload_conf()")


def refuse_lost_password(cluster: Cluster, *, running: bool) -> None:
    """A running cluster that asks for passwords cannot be given new ones: say how to, before writing any."""
    credentials = read_credentials(cluster.passfile)
    hba = cluster.pgdata / "pg_hba.conf"
    if running and (credentials is None or OWNER not in credentials.passwords) and hba.exists() \
            and not hba_trusts(hba) and not (cluster.pgdata / "standby.signal").exists():
        raise ClusterAuthError(f"the running cluster asks for passwords, but {cluster.passfile} does not hold the "
                               f"owner's: stop it (`lapis db stop`) and start it again (`lapis db start`) to give it "
                               f"new ones")


def _single_user(cluster: Cluster, statement: str) -> None:
    """Run one SQL statement in single-user mode (the server is down); it goes through stdin, never a command
    line."""
    result = cluster.run_as_owner([str(cluster.bindir / "postgres"), "--single", "-D", str(cluster.pgdata),
                                   "-c", "log_min_messages=warning", "postgres"], input=statement + "\n")
    if result.returncode != 0 or "ERROR" in result.stderr or "FATAL" in result.stderr:
        message = (result.stderr.strip() or result.stdout.strip()).replace(statement, "ALTER ROLE …")
        raise ClusterAuthError(f"setting the owner's password (single-user mode) failed: {message}")
