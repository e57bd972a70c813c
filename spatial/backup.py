"""Logical backups of the whole LAPIS database: `pg_dump` in custom format, restored by `pg_restore`.

A backup holds every object of the database (tables, sequences, functions, triggers, extensions' own
configuration rows, privileges), so tables added by later migrations are covered without a list to keep.
A restore never edits the live database in place: it restores into a fresh database next to it, and only
once that has succeeded swaps the names in one transaction. The database that was live stays, renamed
`<name>_before_restore_<UTC time>`, until the operator drops it; a failed restore drops only the fresh one.
Sessions on the live database are ended at the swap (the app's pools reconnect to the restored one).
Database-level settings (ALTER DATABASE/ROLE … SET), owner and privileges are server configuration, not
data: the restored database takes them from the database it replaces.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from spatial.pgclient import ClientError, Target, client_program, run, server_major, target

MAINTENANCE_DATABASES = ("postgres", "template1")
MAX_IDENTIFIER = 63


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why (never with a password)."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    database: str
    bytes: int
    elapsed_s: float


@dataclass(frozen=True)
class ArchiveInfo:
    database: str
    server_version: str
    entries: int


@dataclass(frozen=True)
class RestoreResult:
    database: str
    previous: str  # the database that was live, kept under this name
    archive: ArchiveInfo
    elapsed_s: float


def backup(url: str, path: Path) -> BackupResult:
    """Dump the whole database at `url` to `path` (written aside, then renamed: never half a file)."""
    db = target(url)
    started = time.perf_counter()
    pg_dump = _program("pg_dump", db)
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        run([pg_dump, "--format=custom", "--create", "--no-password", f"--file={partial}",
             f"--dbname={db.conninfo}"], db.env, "pg_dump")
    except ClientError as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(str(exc)) from None
    partial.replace(path)
    return BackupResult(path, db.dbname, path.stat().st_size, time.perf_counter() - started)


def inspect(path: Path, url: str) -> ArchiveInfo:
    """What the archive holds, read from its table of contents; BackupError when it is not an archive."""
    db = target(url)
    listing = _list(path, _program("pg_restore", db), db)
    return _archive_info(listing)


def restore(url: str, path: Path, *, jobs: int | None = None) -> RestoreResult:
    """Replace the database at `url` by the archive's content (see the module docstring for how)."""
    db = target(url)
    started = time.perf_counter()
    pg_restore = _program("pg_restore", db)
    listing = _list(path, pg_restore, db)
    info = _archive_info(listing)
    maintenance = _maintenance(db)
    fresh = _name(db.dbname, "_restoring")
    with tempfile.TemporaryDirectory(prefix="lapis-restore-") as tmp:
        use_list = Path(tmp) / "restore.list"
        # CREATE EXTENSION writes the extension's own comment; restoring it needs to own the extension.
        use_list.write_text("\n".join(line for line in listing.splitlines() if " COMMENT - EXTENSION " not in line))
        with maintenance.connect(autocommit=True, connect_timeout=10) as conn:
            _create_like(conn, fresh, db.dbname)
        try:
            run([pg_restore, "--exit-on-error", "--no-password", f"--jobs={jobs or min(4, os.cpu_count() or 1)}",
                 f"--use-list={use_list}", f"--dbname={db.with_dbname(fresh).conninfo}", path],
                db.env, f"pg_restore of {path}")
            with maintenance.connect(autocommit=True, connect_timeout=10) as conn:
                _copy_database_settings(conn, db.dbname, fresh)
                previous = _swap(conn, db.dbname, fresh)
        except (ClientError, psycopg.Error) as exc:
            with maintenance.connect(autocommit=True, connect_timeout=10) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(fresh)))
            raise BackupError(f"{exc}\nthe database {db.dbname} is unchanged") from None
    return RestoreResult(db.dbname, previous, info, time.perf_counter() - started)


def _program(name: str, db: Target) -> Path:
    try:
        return client_program(name, server_major(db))
    except ClientError as exc:
        raise BackupError(str(exc)) from None


def _list(path: Path, pg_restore: Path, db: Target) -> str:
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file")
    try:
        return run([pg_restore, "--list", path], db.env, "pg_restore --list").stdout
    except ClientError as exc:
        raise BackupError(f"{path} is not a LAPIS backup (a pg_dump custom-format archive): {exc}") from None


def _archive_info(listing: str) -> ArchiveInfo:
    def field(name: str) -> str:
        found = re.search(rf"^;\s+{name}:\s*(.*)$", listing, re.MULTILINE)
        return found.group(1).strip() if found else "?"

    entries = field("TOC Entries")
    return ArchiveInfo(field("dbname"), field("Dumped from database version"),
                       int(entries) if entries.isdigit() else 0)


def _maintenance(db: Target) -> Target:
    """A database of the same server to run CREATE/ALTER/DROP DATABASE from."""
    for name in MAINTENANCE_DATABASES:
        candidate = db.with_dbname(name)
        try:
            candidate.connect(connect_timeout=10).close()
        except psycopg.OperationalError:
            continue
        return candidate
    raise BackupError("cannot connect to the server's postgres or template1 database to make the fresh "
                      "database a restore needs")


def _name(base: str, suffix: str) -> str:
    return base.encode()[: MAX_IDENTIFIER - len(suffix)].decode(errors="ignore") + suffix


def _create_like(conn: psycopg.Connection, fresh: str, live: str) -> None:
    """An empty database `fresh` with `live`'s owner, encoding and locale (a leftover of an interrupted
    restore, recognisable by its name, is dropped first)."""
    row = conn.execute("SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype "
                       "FROM pg_database WHERE datname = %s", (live,)).fetchone()
    if row is None:
        raise BackupError(f"the database {live} does not exist on this server")
    owner, encoding, collate, ctype = row
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(fresh)))
    conn.execute(sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING {} LC_COLLATE {} LC_CTYPE {}")
                 .format(sql.Identifier(fresh), sql.Identifier(owner), sql.Literal(encoding),
                         sql.Literal(collate), sql.Literal(ctype)))


def _copy_database_settings(conn: psycopg.Connection, live: str, fresh: str) -> None:
    """Give `fresh` the privileges and ALTER DATABASE/ROLE … SET settings of `live`. Each setting is applied
    to this session with set_config and stored FROM CURRENT, so list values (search_path) keep their quoting."""
    acl = conn.execute("SELECT datacl IS NOT NULL FROM pg_database WHERE datname = %s", (live,)).fetchone()
    if acl and acl[0]:
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(fresh)))
        grants = conn.execute(
            "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, a.privilege_type, "
            "a.is_grantable FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = %s", (live,)).fetchall()
        for grantee, privilege, grantable in _sorted_grants(grants):
            role = sql.SQL("PUBLIC") if grantee == "PUBLIC" else sql.Identifier(grantee)
            conn.execute(sql.SQL("GRANT {} ON DATABASE {} TO {}{}").format(
                sql.SQL(privilege), sql.Identifier(fresh), role,
                sql.SQL(" WITH GRANT OPTION" if grantable else "")))
    settings = conn.execute(
        "SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END, unnest(s.setconfig) "
        "FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = %s",
        (live,)).fetchall()
    for role, item in settings:
        name, _, value = item.partition("=")
        with conn.transaction():
            conn.execute("SELECT set_config(%s, %s, true)", (name, value))
            prefix = (sql.SQL("ALTER ROLE {} IN DATABASE {}").format(sql.Identifier(role), sql.Identifier(fresh))
                      if role else sql.SQL("ALTER DATABASE {}").format(sql.Identifier(fresh)))
            conn.execute(sql.SQL("{} SET {} FROM CURRENT").format(prefix, sql.Identifier(name)))


def _sorted_grants(grants: list[tuple[str, str, bool]]) -> list[tuple[str, str, bool]]:
    """Privileges in a stable order (PUBLIC first), so a restore is reproducible."""
    return sorted(grants, key=lambda g: (g[0] != "PUBLIC", g[0], g[1]))


def _swap(conn: psycopg.Connection, live: str, fresh: str) -> str:
    """Rename `live` aside and `fresh` into its place in one transaction; returns the aside name."""
    aside = _name(live, f"_before_restore_{datetime.now(UTC):%Y%m%d%H%M%S}")
    live_id, fresh_id, aside_id = (sql.Identifier(n) for n in (live, fresh, aside))
    conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(live_id))
    renamed = False
    try:
        for attempt in range(5):
            conn.execute("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (live,))
            try:
                with conn.transaction():
                    conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(live_id, aside_id))
                    conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(fresh_id, live_id))
                renamed = True
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 4:
                    raise
                time.sleep(0.2)
    finally:
        kept = aside_id if renamed else live_id
        conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(kept))
    return aside
