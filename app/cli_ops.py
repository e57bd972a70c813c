"""`lapis db` operations commands — backup/restore, base backups and point-in-time recovery, replicas — each a
thin call into `spatial.backup`, `spatial.pitr` and `spatial.replicas`. `app.cli` adds them to `lapis db`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from app.cli_common import console, fail, url_or_fail
from spatial.db import embedded_cluster
from spatial.embedded import EmbeddedCluster, EmbeddedError
from spatial.pgclient import redact
from spatial.settings import Settings

ops_cli = typer.Typer()
replica_cli = typer.Typer(help="Streaming read replicas of the embedded cluster.", no_args_is_help=True)


def _embedded(settings: Settings, what: str) -> EmbeddedCluster:
    if settings.database_url:
        raise fail(f"{what} works on the embedded cluster; DATABASE_URL is set (use that server's own tools)")
    return embedded_cluster(settings)


@ops_cli.command("backup")
def db_backup(file: Path = typer.Argument(..., help="The backup file to write (pg_dump custom format)")) -> None:
    """Back up the whole database to FILE (pg_dump custom format)."""
    from spatial.backup import BackupError, backup

    try:
        result = backup(url_or_fail(Settings()), file)
    except BackupError as exc:
        raise fail(str(exc)) from None
    console.print(f"backed up database {result.database} to {result.path} ({result.bytes / 1024:,.0f} KiB) "
                  f"in {result.elapsed_s:.1f} s", highlight=False)


@ops_cli.command("restore")
def db_restore(file: Path = typer.Argument(..., help="A file made by `lapis db backup`"),
               yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation")) -> None:
    """Replace the database by the content of FILE (restored aside, then swapped; the old one is kept)."""
    from spatial.backup import BackupError, inspect, restore

    url = url_or_fail(Settings())
    try:
        info = inspect(file, url)
        if not yes and not typer.confirm(f"Replace the database {redact(url)} by {file} (database {info.database}, "
                                         f"PostgreSQL {info.server_version})?"):
            raise typer.Exit(1)
        result = restore(url, file)
    except BackupError as exc:
        raise fail(str(exc)) from None
    console.print(f"restored {file} into database {result.database} in {result.elapsed_s:.1f} s; the database "
                  f"it replaced is kept as {result.previous} (DROP DATABASE \"{result.previous}\" once satisfied)",
                  highlight=False)


@ops_cli.command("basebackup")
def db_basebackup(directory: Path = typer.Argument(..., help="A new or empty folder for the copy")) -> None:
    """Copy the running embedded cluster (pg_basebackup) as a starting point for `lapis db recover`."""
    from spatial.pitr import RecoveryError, base_backup

    cluster = _embedded(Settings(), "a base backup")
    try:
        result = base_backup(cluster, directory)
    except RecoveryError as exc:
        raise fail(str(exc)) from None
    console.print(f"base backup in {result.path} ({result.bytes / 2**20:,.0f} MiB), consistent from "
                  f"{result.finished_at.isoformat()}", highlight=False)
    if not result.archiving:
        console.print("[yellow]warning:[/] WAL archiving is off: this copy restores only to its own end. Set "
                      "LAPIS_WAL_ARCHIVE=on and restart (lapis db stop; lapis db start) for point-in-time recovery.")
    elif result.first_wal:
        console.print(f"recovery from it reads archived WAL from {result.first_wal} on; once older base backups are "
                      f"gone, free the space before it with: pg_archivecleanup {cluster.wal_archive_dir} "
                      f"{result.first_wal}", highlight=False)


@ops_cli.command("recover")
def db_recover(to: str = typer.Option(..., "--to", help="The moment to go back to, ISO 8601 with a time zone, "
                                      "e.g. 2026-11-27T10:00:00Z"),
               from_: Path = typer.Option(..., "--from", help="A base backup made before that moment"),
               yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation")) -> None:
    """Rebuild the embedded cluster as it was at a moment: a base backup plus the archived WAL."""
    from spatial.pitr import RecoveryError, read_base_backup, recover

    try:
        moment = datetime.fromisoformat(to)
    except ValueError:
        raise fail(f"--to {to!r}: expected an ISO 8601 time such as 2026-11-27T10:00:00Z") from None
    cluster = _embedded(Settings(), "point-in-time recovery")
    try:
        if moment.tzinfo is None:
            raise RecoveryError(f"--to {to!r}: give the time zone, e.g. {to}Z or {to}+07:00")
        read_base_backup(from_)
        if not yes and not typer.confirm(f"Stop the embedded cluster and rebuild it as it was at {moment.isoformat()}"
                                         f" (the current data folder is moved aside, not deleted)?"):
            raise typer.Exit(1)
        result = recover(cluster, from_, moment)
    except RecoveryError as exc:
        raise fail(str(exc)) from None
    console.print(f"recovered to {result.target.isoformat()} in {result.elapsed_s:.1f} s (timeline "
                  f"{result.timeline}); the previous data folder is kept in {result.previous_data}", highlight=False)
    from spatial.tiles.cache import empty_disk_cache

    settings = Settings()
    for folder in {settings.tile_cache_dir or settings.shared_tile_cache_dir, settings.shared_tile_cache_dir}:
        if empty_disk_cache(folder):
            console.print(f"emptied the tile cache in {folder} (its tiles were keyed on transactions of the "
                          "timeline left behind)", highlight=False)
    console.print("restart `lapis serve` if it runs: its in-memory tile cache is keyed the same way", highlight=False)


@replica_cli.command("create")
def replica_create(port: int = typer.Option(..., "--port", help="The replica's port"),
                   directory: Path = typer.Option(None, "--dir", help="Its folder (default: "
                                                  "<data_dir>/replicas/<port>)"),
                   passfile: Path = typer.Option(None, "--passfile", help="libpq password file for the "
                                                 "replication connection, when the primary asks for a password"),
                   ) -> None:
    """Make a streaming hot standby of the embedded cluster (pg_basebackup -R) and start it."""
    from spatial.replicas import ReplicaError, create_replica

    cluster = _embedded(Settings(), "a replica")
    try:
        status = create_replica(cluster, port, directory, passfile=passfile)
    except (ReplicaError, EmbeddedError) as exc:
        raise fail(str(exc)) from None
    console.print(f"replica running on port {status.port}, data in {status.data_dir}", highlight=False)
    print(status.url)


@replica_cli.command("start")
def replica_start(port: int = typer.Option(None, "--port", help="Only this replica (default: all)")) -> None:
    """Start the replicas (or one)."""
    from spatial.replicas import ReplicaError, registered, start_replica

    cluster = _embedded(Settings(), "a replica")
    try:
        for each in [port] if port else sorted(registered(cluster)):
            status = start_replica(cluster, each)
            console.print(f"replica on port {each} running", highlight=False)
            print(status.url)
    except (ReplicaError, EmbeddedError) as exc:
        raise fail(str(exc)) from None


@replica_cli.command("stop")
def replica_stop(port: int = typer.Option(None, "--port", help="Only this replica (default: all)")) -> None:
    """Stop the replicas (or one)."""
    from spatial.replicas import ReplicaError, registered, stop_replica

    cluster = _embedded(Settings(), "a replica")
    try:
        for each in [port] if port else sorted(registered(cluster)):
            stopped = stop_replica(cluster, each)
            console.print(f"replica on port {each} {'stopped' if stopped else 'was not running'}", highlight=False)
    except (ReplicaError, EmbeddedError) as exc:
        raise fail(str(exc)) from None


@replica_cli.command("status")
def replica_status() -> None:
    """List the replicas with their replay position and lag; print the URLs of those running."""
    from spatial.replicas import ReplicaError, registered
    from spatial.replicas import replica_status as status_of

    cluster = _embedded(Settings(), "a replica")
    table = Table("port", "running", "streaming", "replayed to", "lag", "folder", title="replicas")
    try:
        for port in sorted(registered(cluster)):
            s = status_of(cluster, port)
            lag = "-" if s.lag_ms is None else f"{s.lag_ms:,.0f} ms" + (" (replay paused)" if s.paused else "")
            table.add_row(str(port), "yes" if s.running else "no", "yes" if s.streaming else "no",
                          s.replay_lsn or "-", lag, str(s.data_dir))
            if s.running:
                print(s.url)
    except ReplicaError as exc:
        raise fail(str(exc)) from None
    console.print(table)


@replica_cli.command("remove")
def replica_remove(port: int = typer.Option(..., "--port", help="The replica to remove"),
                   yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation")) -> None:
    """Stop a replica, drop its replication slot and delete its folder."""
    from spatial.replicas import ReplicaError, remove_replica

    cluster = _embedded(Settings(), "a replica")
    if not yes and not typer.confirm(f"Delete the replica on port {port} and its data folder?"):
        raise typer.Exit(1)
    try:
        remove_replica(cluster, port)
    except (ReplicaError, EmbeddedError) as exc:
        raise fail(str(exc)) from None
    console.print(f"replica on port {port} removed", highlight=False)
