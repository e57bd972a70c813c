"""Running PostgreSQL's client programs (pg_dump, pg_restore, pg_basebackup) against a URL.

Two rules: the program's major version matches the server's (a newer pg_dump can read an older server but
writes archives an older pg_restore cannot read; an older one refuses a newer server), and a password never
reaches a command line (visible in `ps`) nor a message: it travels in PGPASSWORD, and URLs are shown redacted.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from spatial.db import normalise_url

POSTGRESQL_LIB = Path("/usr/lib/postgresql")


class ClientError(RuntimeError):
    """A client program is missing or failed; the message is safe to show (no password)."""


def redact(url: str) -> str:
    """The URL (or key=value conninfo) with any password replaced by ***."""
    url = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", url)


@dataclass(frozen=True)
class Target:
    """A database to point a client program at: its conninfo without the password, and the environment."""

    conninfo: str
    env: dict[str, str]
    dbname: str

    def with_dbname(self, dbname: str) -> Target:
        params = conninfo_to_dict(self.conninfo)
        params["dbname"] = dbname
        return Target(make_conninfo(**params), self.env, dbname)

    def connect(self, **kwargs: object) -> psycopg.Connection:
        password = self.env.get("PGPASSWORD")
        extra = {"password": password} if password else {}
        return psycopg.connect(self.conninfo, **extra, **kwargs)  # type: ignore[arg-type]


def target(url: str) -> Target:
    """Split `url` into a password-free conninfo and an environment carrying the password."""
    params = conninfo_to_dict(normalise_url(url))
    password = params.pop("password", None)
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    env.pop("PGPASSWORD", None)
    if password:
        env["PGPASSWORD"] = str(password)
    dbname = str(params.get("dbname") or params.get("user") or "")
    return Target(make_conninfo(**params), env, dbname)


def server_major(db: Target) -> int:
    with db.connect(connect_timeout=10) as conn:
        return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000


def client_program(name: str, major: int) -> Path:
    """`name` (pg_dump, pg_restore, …) of PostgreSQL `major`: /usr/lib/postgresql/<major>/bin, or the
    newest installed version above it (pg_dump reads older servers; never an older one)."""
    exact = POSTGRESQL_LIB / str(major) / "bin" / name
    if exact.exists():
        return exact
    newer = sorted((p for p in POSTGRESQL_LIB.glob(f"*/bin/{name}") if _major(p) > major), key=_major)
    if newer:
        return newer[0]
    raise ClientError(f"{name} for PostgreSQL {major} not found under {POSTGRESQL_LIB}/{major}/bin "
                      f"(Debian: apt-get install postgresql-client-{major})")


def _major(program: Path) -> int:
    name = program.parent.parent.name
    return int(name) if name.isdigit() else 0


def run(argv: list[str | Path], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    """Run a client program; a failure becomes a ClientError with its stderr (redacted)."""
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        message = (result.stderr.strip() or result.stdout.strip() or f"exit code {result.returncode}")
        raise ClientError(f"{what} failed: {redact(message)}")
    return result
