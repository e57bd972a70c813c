"""The `lapis` command: each subcommand is a thin call into `spatial` (or, for `serve`, the app)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from spatial.db import database_url, embedded_cluster
from spatial.embedded import EmbeddedError
from spatial.settings import Settings

cli = typer.Typer(help="LAPIS — Long An Planning Information System", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_cli = typer.Typer(help="The database: embedded cluster lifecycle, migrations, bundled data.",
                     no_args_is_help=True)
cli.add_typer(db_cli, name="db")
tiles_cli = typer.Typer(help="Vector tiles: export to PMTiles.", no_args_is_help=True)
cli.add_typer(tiles_cli, name="tiles")
console = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def _url(settings: Settings) -> str:
    try:
        return database_url(settings)
    except EmbeddedError as exc:
        raise fail(str(exc)) from None


@cli.command()
def serve(host: str = typer.Option(None, help="Bind address (default: settings, 127.0.0.1)"),
          port: int = typer.Option(None, help="Port (default: settings, 8000)"),
          workers: int = typer.Option(1, help="uvicorn worker processes")) -> None:
    """Serve the HTTP API and the map viewer."""
    import uvicorn

    settings = Settings()
    _url(settings)  # start the embedded database first, with a clear error if it cannot
    uvicorn.run("app.main:create_app_from_env", factory=True, host=host or settings.host,
                port=port or settings.port, workers=workers, log_level="info")


@db_cli.command("start")
def db_start() -> None:
    """Start the embedded PostGIS cluster (harmless when it already runs)."""
    settings = Settings()
    if settings.database_url:
        console.print("DATABASE_URL is set: LAPIS uses that server and starts none.")
        return
    try:
        status = embedded_cluster(settings).start()
    except EmbeddedError as exc:
        raise fail(str(exc)) from None
    console.print(f"embedded PostGIS running (pid {status.pid})")
    print(status.url)


@db_cli.command("stop")
def db_stop() -> None:
    """Stop the embedded cluster (only ours)."""
    settings = Settings()
    if settings.database_url:
        console.print("DATABASE_URL is set: there is no embedded cluster to stop.")
        return
    stopped = embedded_cluster(settings).stop()
    console.print("stopped" if stopped else "not running")


@db_cli.command("status")
def db_status() -> None:
    """Say whether the database runs and print its connection URL (exit 1 when it does not run)."""
    settings = Settings()
    if settings.database_url:
        print(settings.database_url)
        return
    status = embedded_cluster(settings).status()
    if not status.running:
        console.print(f"embedded PostGIS not running (data in {status.data_dir}); start it with `lapis db start`")
        raise typer.Exit(1)
    console.print(f"embedded PostGIS running: pid {status.pid}, port {status.port}, data {status.data_dir}")
    print(status.url)


@db_cli.command("migrate")
def db_migrate(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Upgrade the schema (Alembic) to head or to a given revision."""
    from spatial import migrate

    url = _url(Settings())
    migrate.upgrade(url, revision)
    console.print(f"schema at revision {migrate.current_revision(url)}")


@db_cli.command("seed")
def db_seed() -> None:
    """Load the bundled Long An plan data (idempotent upsert by code, one transaction)."""
    from spatial.seed import seed

    settings = Settings()
    url = _url(settings)
    started = time.perf_counter()
    results = seed(url, settings.bundled_data_dir)
    table = Table("layer", "features", "inserted", "updated", "unchanged", title="bundled plan data")
    for r in results:
        table.add_row(r.layer, str(r.staged), str(r.inserted), str(r.updated), str(r.unchanged))
    console.print(table)
    console.print(f"seeded in {time.perf_counter() - started:.2f} s")


@db_cli.command("reset")
def db_reset(yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation")) -> None:
    """Drop every LAPIS table (downgrade to base), migrate again and reseed."""
    from spatial import migrate
    from spatial.seed import seed

    settings = Settings()
    url = _url(settings)
    if not yes and not typer.confirm(f"Erase all LAPIS data in {url}?"):
        raise typer.Exit(1)
    migrate.downgrade(url, "base")
    migrate.upgrade(url, "head")
    seed(url, settings.bundled_data_dir)
    console.print("database reset and reseeded")


@tiles_cli.command("export")
def tiles_export(
    output: Path = typer.Argument(..., help="The .pmtiles file to write"),
    minzoom: int = typer.Option(0, "--minzoom", min=0, max=24, help="First zoom level"),
    maxzoom: int = typer.Option(14, "--maxzoom", min=0, max=24, help="Last zoom level"),
    collections: str = typer.Option(None, "--collections", help="Subset of layers, e.g. zones,axes"),
) -> None:
    """Export the composite plan tiles covering the province to a PMTiles archive."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from spatial.layers import UnknownLayer
    from spatial.tiles.pmtiles_export import export_pmtiles

    if minzoom > maxzoom:
        raise fail(f"--minzoom {minzoom} is above --maxzoom {maxzoom}", 2)
    names = [c.strip() for c in collections.split(",") if c.strip()] if collections else None
    url = _url(Settings())
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task("tiles", total=None)
        try:
            result = export_pmtiles(url, output, minzoom=minzoom, maxzoom=maxzoom, collections=names,
                                    progress=lambda done, total: bar.update(task, completed=done, total=total))
        except UnknownLayer as exc:
            raise fail(f"--collections: {exc}", 2) from None
        except (ValueError, OSError) as exc:
            raise fail(str(exc)) from None
    console.print(f"{result.written} tiles (of {result.planned} planned, the rest empty) written to "
                  f"{result.path} ({result.bytes / 1024:.0f} KiB), z{minzoom}–{maxzoom}")


def main() -> None:
    import psycopg
    import sqlalchemy.exc

    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
    except (psycopg.OperationalError, sqlalchemy.exc.OperationalError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        console.print(f"[bold red]error:[/] cannot reach the database: {reason}")
        sys.exit(2)
    except EmbeddedError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
