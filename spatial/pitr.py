"""Point-in-time recovery of the embedded cluster: base backups plus the archived WAL.

With LAPIS_WAL_ARCHIVE=on the cluster copies every finished WAL segment into its archive folder
(see `EmbeddedCluster`). `base_backup` takes a physical copy of the running cluster with `pg_basebackup`;
`recover` rebuilds the cluster from such a copy and replays the archived WAL up to a moment, then opens it
for writes on a new timeline. The data folder it replaces is moved aside (`postgres.before-recovery-<time>`),
never deleted, and WAL segments that folder holds but the archive does not (the segment being written when
the cluster stopped) are replayed too, so the moment can be seconds before the recovery. If the recovery
fails, the folder that was live is put back and the failed attempt kept aside for inspection.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from spatial.embedded import EmbeddedCluster, EmbeddedError
from spatial.pgclient import ClientError, run, target

BACKUP_INFO = "lapis-basebackup.json"
WAL_FILE = re.compile(r"^[0-9A-F]{24}$")
RECOVERY_SETTINGS = ("restore_command", "recovery_target_time", "recovery_target_action")


class RecoveryError(RuntimeError):
    """A base backup or a recovery could not be made; the message says why and what was left where."""


@dataclass(frozen=True)
class BaseBackup:
    path: Path
    started_at: datetime
    finished_at: datetime  # the earliest moment a recovery from this backup can reach
    archiving: bool  # False: WAL archiving is off, the backup restores only to its own end
    bytes: int
    first_wal: str  # the oldest archived WAL segment a recovery from this backup reads


@dataclass(frozen=True)
class Recovery:
    target: datetime
    timeline: int
    previous_data: Path  # the data folder that was live, moved aside
    elapsed_s: float


def base_backup(cluster: EmbeddedCluster, dest: Path) -> BaseBackup:
    """A physical copy of the running cluster in `dest` (a new or empty folder), with the WAL it needs."""
    dest = Path(dest).resolve()
    if dest.exists() and any(dest.iterdir()):
        raise RecoveryError(f"{dest} is not empty: a base backup needs a new or empty folder")
    url = _running_url(cluster)
    db = target(url)
    with db.connect(autocommit=True, connect_timeout=10) as conn:
        started = conn.execute("SELECT now()").fetchone()[0]
        archiving = conn.execute("SHOW archive_mode").fetchone()[0] != "off"
    try:
        run([cluster.bindir / "pg_basebackup", "--pgdata", dest, "--format=plain", "--wal-method=stream",
             "--checkpoint=fast", "--no-password", "--label", f"lapis {started.isoformat()}",
             f"--dbname={db.conninfo}"], db.env, "pg_basebackup")
    except ClientError as exc:
        raise RecoveryError(str(exc)) from None
    with db.connect(autocommit=True, connect_timeout=10) as conn:
        finished = conn.execute("SELECT now()").fetchone()[0]
    size = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file())
    found = re.search(r"^START WAL LOCATION: .* \(file ([0-9A-F]{24})\)", (dest / "backup_label").read_text(),
                      re.MULTILINE)
    info = {"started_at": started.isoformat(), "finished_at": finished.isoformat(), "archiving": archiving,
            "bytes": size, "first_wal": found.group(1) if found else ""}
    (dest / BACKUP_INFO).write_text(json.dumps(info))
    return read_base_backup(dest)


def read_base_backup(path: Path) -> BaseBackup:
    path = Path(path).resolve()
    try:
        info = json.loads((path / BACKUP_INFO).read_text())
    except (OSError, ValueError):
        raise RecoveryError(f"{path} is not a LAPIS base backup (no readable {BACKUP_INFO}; "
                            "make one with `lapis db basebackup DIR`)") from None
    if not (path / "PG_VERSION").exists() or not (path / "backup_label").exists():
        raise RecoveryError(f"{path} is not a complete base backup (PG_VERSION or backup_label missing)")
    return BaseBackup(path, datetime.fromisoformat(info["started_at"]), datetime.fromisoformat(info["finished_at"]),
                      bool(info.get("archiving")), int(info.get("bytes", 0)), str(info.get("first_wal", "")))


def recover(cluster: EmbeddedCluster, base: Path, to: datetime, *, timeout_s: float = 600) -> Recovery:
    """Rebuild `cluster` from the base backup `base` and its archived WAL as it was at `to`."""
    if to.tzinfo is None:
        raise RecoveryError("the recovery time needs a time zone (e.g. 2026-11-27T10:00:00Z or +07:00)")
    backup = read_base_backup(base)
    if to < backup.finished_at:
        raise RecoveryError(f"the base backup {backup.path} was finished at {backup.finished_at.isoformat()}: "
                            f"it cannot go back to {to.isoformat()}; use an older base backup")
    started = time.perf_counter()
    was_running = cluster.stop() or False
    stamp = _free_stamp(cluster.pgdata)
    aside = cluster.pgdata.with_name(f"postgres.before-recovery-{stamp}")
    if cluster.pgdata.exists():
        cluster.pgdata.rename(aside)
    try:
        _lay_out(cluster, backup.path, aside, to)
        cluster.start()
        _wait_until_promoted(cluster, timeout_s)
        timeline = _finish(cluster)
    except (EmbeddedError, RecoveryError, psycopg.Error, OSError) as exc:
        hint = _hint(f"{exc}\n{cluster.log_tail(30)}")
        kept = _put_back(cluster, aside, stamp, was_running)
        raise RecoveryError(f"recovery to {to.isoformat()} failed: {hint}{exc}\nthe cluster is as it was; the "
                            f"failed attempt is kept in {kept}") from None
    return Recovery(to, timeline, aside, time.perf_counter() - started)


def _running_url(cluster: EmbeddedCluster) -> str:
    status = cluster.status()
    if not status.running or not status.url:
        raise RecoveryError("the embedded cluster is not running: start it with `lapis db start`")
    return status.url


def _lay_out(cluster: EmbeddedCluster, base: Path, old: Path, to: datetime) -> None:
    """The new data folder: the base backup, the old folder's unarchived WAL, the recovery settings."""
    shutil.copytree(base, cluster.pgdata, ignore=shutil.ignore_patterns(BACKUP_INFO, "backup_manifest"))
    archive = cluster.wal_archive_dir
    if old.exists() and _system_id(cluster, old) == _system_id(cluster, base):
        for segment in (old / "pg_wal").iterdir():
            if WAL_FILE.match(segment.name) and not (archive / segment.name).exists():
                shutil.copy2(segment, cluster.pgdata / "pg_wal" / segment.name)
    restore = f"cp {shlex.quote(str(archive))}/%f %p"
    stop_at = to.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
    with (cluster.pgdata / "postgresql.auto.conf").open("a") as conf:
        conf.write(f"restore_command = {_conf_quote(restore)}\n"
                   f"recovery_target_time = {_conf_quote(stop_at)}\n"
                   "recovery_target_action = 'promote'\n")
    (cluster.pgdata / "recovery.signal").touch()
    owner = cluster.owner()
    os.chmod(cluster.pgdata, 0o700)
    if owner is not None:
        for path in [cluster.pgdata, *cluster.pgdata.rglob("*")]:
            os.chown(path, owner.pw_uid, owner.pw_gid, follow_symlinks=False)


def _conf_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _system_id(cluster: EmbeddedCluster, pgdata: Path) -> str | None:
    result = subprocess.run([str(cluster.bindir / "pg_controldata"), "-D", str(pgdata)], capture_output=True,
                            text=True, check=False, env={**os.environ, "LC_ALL": "C"})
    found = re.search(r"^Database system identifier:\s*(\d+)", result.stdout, re.MULTILINE)
    return found.group(1) if found else None


def _wait_until_promoted(cluster: EmbeddedCluster, timeout_s: float) -> None:
    """Replay runs until the target, then the server promotes itself; a FATAL (say, the WAL ends before
    the target) stops the server instead."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = cluster.status()
        if not status.running or not status.url:
            raise RecoveryError(f"the server stopped during recovery:\n{cluster.log_tail(30)}")
        with contextlib.suppress(psycopg.OperationalError), \
                psycopg.connect(status.url, connect_timeout=5) as conn:
            if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                return
        time.sleep(0.1)
    raise RecoveryError(f"recovery did not finish within {timeout_s:.0f} s:\n{cluster.log_tail(30)}")


def _hint(text: str) -> str:
    """A plain-words reason for the failures an operator can fix, in front of PostgreSQL's own words."""
    if "recovery ended before configured recovery target was reached" in text:
        return ("the WAL ends before the requested time: nothing was recorded after it, so the cluster as it "
                "was already shows that moment (or archived segments are missing).\n")
    return ""


def _finish(cluster: EmbeddedCluster) -> int:
    """Forget the recovery settings (they would apply again at the next recovery.signal); the timeline."""
    url = _running_url(cluster)
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        for name in RECOVERY_SETTINGS:
            conn.execute(f"ALTER SYSTEM RESET {name}")
        conn.execute("SELECT pg_reload_conf()")
        wal_file = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()[0]
        return int(wal_file[:8], 16)


def _put_back(cluster: EmbeddedCluster, aside: Path, stamp: str, was_running: bool) -> Path:
    with contextlib.suppress(EmbeddedError):
        cluster.stop()
    with contextlib.suppress(EmbeddedError):
        cluster.kill()
    failed = cluster.pgdata.with_name(f"postgres.failed-recovery-{stamp}")
    if cluster.pgdata.exists():
        cluster.pgdata.rename(failed)
    if aside.exists():
        aside.rename(cluster.pgdata)
    if was_running:
        with contextlib.suppress(EmbeddedError):
            cluster.start()
    return failed


def _free_stamp(pgdata: Path) -> str:
    """A UTC time stamp naming the folders a recovery moves aside, unique even for two recoveries in one second."""
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    candidate, n = stamp, 1
    while any(pgdata.with_name(f"postgres.{kind}-recovery-{candidate}").exists() for kind in ("before", "failed")):
        n += 1
        candidate = f"{stamp}-{n}"
    return candidate
