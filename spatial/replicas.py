"""Streaming hot standbys of the embedded cluster (`lapis db replica …`).

A replica is an `EmbeddedCluster` of its own (own folder, fixed port) made by `pg_basebackup -R` from the
running primary: it streams the primary's WAL through a physical replication slot (`lapis_replica_<port>`, so
the primary keeps what a briefly stopped replica still needs) and answers read-only queries. The replicas of a
primary are listed in `<primary data_dir>/replicas.json`.

Authentication is whatever the primary's pg_hba.conf says for 127.0.0.1 (LAPIS's asks for a password): when no
rule admits replication connections, one is added with the method of the `host all` rule. The replica streams as
the owner, with a password file of its own (`replication.pgpass` in its folder, the server user's, mode 0600)
unless a `passfile` (libpq format) is given; either is named in the replica's `primary_conninfo`, never the
password itself. The replica shares its primary's roles and passwords (its `pgpass` is the primary's); the URL
printed for it is the server's login, naming that password file (`EmbeddedCluster.passfile_url`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from spatial import cluster_auth
from spatial.embedded import SUPERUSER, EmbeddedCluster, EmbeddedError, port_is_free

SLOT_PREFIX = "lapis_replica_"
REGISTRY = "replicas.json"
STANDBY_SETTINGS = {"hot_standby": "on", "hot_standby_feedback": "on"}  # no query cancelled by the primary's vacuum

# Replay position and lag of a standby. Lag is 0 while it has replayed all it received; otherwise the time since
# the last transaction it replayed was committed (an over-estimate, never an under-estimate).
STANDBY_POSITION = """
SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, pg_is_in_recovery() AND pg_is_wal_replay_paused(),
       CASE WHEN pg_last_wal_receive_lsn() IS NOT NULL AND pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn()
            THEN 0
            ELSE coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000,
                          'Infinity') END
"""


class ReplicaError(RuntimeError):
    """A replica could not be created, started, stopped or removed; the message says why."""


@dataclass(frozen=True)
class ReplicaStatus:
    port: int
    data_dir: Path
    running: bool
    url: str | None  # the server's login (lapis_app), naming the password file: for LAPIS_REPLICA_URLS
    replay_lsn: str | None = None
    lag_ms: float | None = None
    paused: bool = False
    streaming: bool = False  # the primary sees it connected and streaming


def replica_cluster(primary: EmbeddedCluster, port: int, data_dir: Path) -> EmbeddedCluster:
    """The `EmbeddedCluster` that runs the replica in `data_dir` on `port`."""
    return EmbeddedCluster(data_dir, primary.db_name, throwaway=primary.throwaway, port=port,
                           extra_settings=STANDBY_SETTINGS, passfile=primary.passfile)


def registered(primary: EmbeddedCluster) -> dict[int, Path]:
    """The primary's replicas: port → data folder."""
    try:
        entries = json.loads((primary.data_dir / REGISTRY).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {int(port): Path(folder) for port, folder in entries.items()}


def create_replica(primary: EmbeddedCluster, port: int, data_dir: Path | None = None, *,
                   user: str = SUPERUSER, passfile: Path | None = None) -> ReplicaStatus:
    """Make a hot standby of the running `primary` on `port` (in `data_dir`, default
    <primary data_dir>/replicas/<port>) and start it."""
    url = _primary_url(primary)
    data_dir = Path(data_dir or primary.data_dir / "replicas" / str(port)).resolve()
    if port in registered(primary):
        raise ReplicaError(f"a replica on port {port} already exists (in {registered(primary)[port]})")
    if not port_is_free(port):
        raise ReplicaError(f"port {port} is in use by another program")
    if data_dir.exists() and any(data_dir.iterdir()):
        raise ReplicaError(f"{data_dir} is not empty: a replica needs a new or empty folder")
    replica = replica_cluster(primary, port, data_dir)
    slot = f"{SLOT_PREFIX}{port}"
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        _allow_replication(conn, user)
        conn.execute("SELECT pg_create_physical_replication_slot(%s) WHERE NOT EXISTS "
                     "(SELECT 1 FROM pg_replication_slots WHERE slot_name = %s)", (slot, slot))
        primary_port = conn.execute("SHOW port").fetchone()[0]
    replica.prepare_folders()
    passfile = Path(passfile).resolve() if passfile is not None else _replication_passfile(primary, replica, user)
    params = {"host": "127.0.0.1", "port": primary_port, "user": user, "application_name": slot,
              "passfile": str(passfile)}
    result = replica.run_as_owner(
        [str(primary.bindir / "pg_basebackup"), "--pgdata", str(replica.pgdata), "--write-recovery-conf",
         "--wal-method=stream", "--checkpoint=fast", "--slot", slot, "--no-password",
         "--dbname", make_conninfo(**params)])
    if result.returncode != 0:
        _drop_slot(url, slot)
        shutil.rmtree(replica.pgdata, ignore_errors=True)
        raise ReplicaError(f"pg_basebackup failed: {result.stderr.strip() or result.stdout.strip()}")
    _register(primary, port, data_dir)
    try:
        replica.start()
    except EmbeddedError as exc:
        raise ReplicaError(f"the replica was made in {data_dir} but did not start: {exc}") from None
    return replica_status(primary, port)


def start_replica(primary: EmbeddedCluster, port: int) -> ReplicaStatus:
    replica_cluster(primary, port, _folder(primary, port)).start()
    return replica_status(primary, port)


def stop_replica(primary: EmbeddedCluster, port: int) -> bool:
    """Stop the replica (its slot keeps the WAL it needs on the primary: remove replicas you no longer use)."""
    return replica_cluster(primary, port, _folder(primary, port)).stop()


def remove_replica(primary: EmbeddedCluster, port: int) -> None:
    """Stop the replica, drop its slot on the primary (which then frees the WAL kept for it), delete its folder."""
    folder = _folder(primary, port)
    replica_cluster(primary, port, folder).destroy()
    status = primary.status()
    if status.running and status.url:
        _drop_slot(status.url, f"{SLOT_PREFIX}{port}")
    entries = registered(primary)
    entries.pop(port, None)
    _write_registry(primary, entries)


def replica_status(primary: EmbeddedCluster, port: int) -> ReplicaStatus:
    folder = _folder(primary, port)
    replica = replica_cluster(primary, port, folder)
    status = replica.status()
    if not status.running or not status.url:
        return ReplicaStatus(port, folder, False, None)
    with psycopg.connect(status.url, connect_timeout=5) as conn:
        in_recovery, replay_lsn, paused, lag_ms = conn.execute(STANDBY_POSITION).fetchone()
    if not in_recovery:
        raise ReplicaError(f"the server on port {port} is not a standby any more (promoted?)")
    return ReplicaStatus(port, folder, True, replica.passfile_url(port), replay_lsn, float(lag_ms), bool(paused),
                         _streaming(primary, f"{SLOT_PREFIX}{port}"))


def _replication_passfile(primary: EmbeddedCluster, replica: EmbeddedCluster, user: str) -> Path:
    """The replica's own password file for its replication connection, readable by the server's user only."""
    credentials = primary.credentials()
    if credentials is None or user not in credentials.passwords:
        raise ReplicaError(f"{primary.passfile} holds no password for {user}: give --passfile")
    path = replica.data_dir / "replication.pgpass"
    cluster_auth.write_passfile(path, {user: credentials.password(user)}, note="the replica's password for "
                                "streaming from its primary")
    owner = replica.owner()
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    return path


def _primary_url(primary: EmbeddedCluster) -> str:
    status = primary.status()
    if not status.running or not status.url:
        raise ReplicaError("the embedded cluster is not running: start it with `lapis db start`")
    return status.url


def _folder(primary: EmbeddedCluster, port: int) -> Path:
    folder = registered(primary).get(port)
    if folder is None:
        known = ", ".join(str(p) for p in sorted(registered(primary))) or "none"
        raise ReplicaError(f"no replica on port {port} (replicas: {known})")
    return folder


def _register(primary: EmbeddedCluster, port: int, data_dir: Path) -> None:
    _write_registry(primary, {**registered(primary), port: data_dir})


def _write_registry(primary: EmbeddedCluster, entries: dict[int, Path]) -> None:
    (primary.data_dir / REGISTRY).write_text(json.dumps({str(p): str(f) for p, f in sorted(entries.items())},
                                                        indent=1))


def _allow_replication(conn: psycopg.Connection, user: str) -> None:
    """Make sure pg_hba.conf admits replication connections from 127.0.0.1 for `user`, with the method of the
    rule that admits ordinary connections from there (trust today, scram-sha-256 once passwords are required)."""
    rules = conn.execute("SELECT database, user_name, address, auth_method FROM pg_hba_file_rules "
                         "WHERE type = 'host' AND error IS NULL ORDER BY line_number").fetchall()
    local = [r for r in rules if r[2] in ("127.0.0.1", "all", "0.0.0.0") and (r[1] == ["all"] or user in r[1])]
    if any("replication" in r[0] for r in local):
        return
    method = next((r[3] for r in local if "all" in r[0]), "scram-sha-256")
    hba_file = Path(conn.execute("SHOW hba_file").fetchone()[0])
    with hba_file.open("a") as hba:
        hba.write(f"\n# added by `lapis db replica create`\nhost replication {user} 127.0.0.1/32 {method}\n")
    conn.execute("SELECT pg_reload_conf()")


def _drop_slot(url: str, slot: str, wait_s: float = 10) -> None:
    """Drop the slot once no walsender uses it any more (a stopped replica's goes away within moments)."""
    deadline = time.monotonic() + wait_s
    with contextlib.suppress(psycopg.Error), psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        while True:
            row = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,)).fetchone()
            if row is None:
                return
            if not row[0] or time.monotonic() > deadline:
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
                return
            time.sleep(0.1)


def _streaming(primary: EmbeddedCluster, slot: str) -> bool:
    url = primary.status().url
    if url is None:
        return False
    with contextlib.suppress(psycopg.Error), psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute("SELECT state FROM pg_stat_replication WHERE application_name = %s", (slot,)).fetchone()
        return row is not None and row[0] == "streaming"
    return False
