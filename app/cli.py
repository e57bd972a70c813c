"""The `lapis` command: each subcommand is a thin call into `spatial` (or, for `serve`, the app). The database
operations commands are in `app.cli_ops`, the analysis commands (`classify`, `report`, `qgis`) in `app.cli_analysis`."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from app.cli_access import access_cli, print_connection
from app.cli_analysis import analysis_cli, qgis_cli
from app.cli_common import console, fail, url_or_fail
from app.cli_history import history_cli, instant, restore_cli
from app.cli_identity import tokens_cli, users_cli
from app.cli_ops import ops_cli, replica_cli
from app.cli_revisions import revision_cli
from spatial.db import embedded_cluster
from spatial.embedded import EmbeddedError
from spatial.json import dumps as json_dumps
from spatial.settings import Settings

if TYPE_CHECKING:
    from spatial.io.loader import LoadReport

cli = typer.Typer(help="LAPIS — Long An Planning Information System", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_cli = typer.Typer(help="The database: embedded cluster lifecycle, migrations, bundled data.",
                     no_args_is_help=True)
cli.add_typer(db_cli, name="db")
tiles_cli = typer.Typer(help="Vector tiles: export to PMTiles.", no_args_is_help=True)
cli.add_typer(tiles_cli, name="tiles")
cli.add_typer(qgis_cli, name="qgis")
cli.add_typer(users_cli, name="users")
cli.add_typer(tokens_cli, name="tokens")
cli.add_typer(history_cli, name="history")
cli.add_typer(revision_cli, name="revision")
cli.registered_commands.extend(restore_cli.registered_commands)  # lapis restore


@cli.command()
def serve(host: str = typer.Option(None, help="Bind address (default: settings, 127.0.0.1)"),
          port: int = typer.Option(None, help="Port (default: settings, 8000)"),
          workers: int = typer.Option(1, help="uvicorn worker processes")) -> None:
    """Serve the HTTP API and the map viewer (several workers share the tile cache on disk: see app/serving.py)."""
    from app.serving import serve as run_server

    settings = Settings()
    url_or_fail(settings)  # start the embedded database first, with a clear error if it cannot
    run_server(settings, host=host, port=port, workers=workers)


@db_cli.command("start")
def db_start() -> None:
    """Start the embedded PostGIS cluster (harmless when it already runs)."""
    settings = Settings()
    if settings.database_url:
        console.print("DATABASE_URL is set: LAPIS uses that server and starts none.")
        return
    cluster = embedded_cluster(settings)
    try:
        status = cluster.start()
    except EmbeddedError as exc:
        raise fail(str(exc)) from None
    console.print(f"embedded PostGIS running (pid {status.pid})")
    assert status.app_url
    print_connection(status.app_url, "url", False, cluster.passfile)  # the server's login, without its password


@db_cli.command("stop")
def db_stop() -> None:
    """Stop the embedded cluster (only ours)."""
    settings = Settings()
    if settings.database_url:
        console.print("DATABASE_URL is set: there is no embedded cluster to stop.")
        return
    stopped = embedded_cluster(settings).stop()
    console.print("stopped" if stopped else "not running")


@db_cli.command("migrate")
def db_migrate(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Upgrade the schema (Alembic) to head or to a given revision."""
    from spatial import migrate

    url = url_or_fail(Settings())
    migrate.upgrade(url, revision)
    console.print(f"schema at revision {migrate.current_revision(url)}")


@db_cli.command("seed")
def db_seed() -> None:
    """Load the bundled Long An plan data (idempotent upsert by code, one transaction)."""
    from spatial.seed import seed

    settings = Settings()
    url = url_or_fail(settings)
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
    from spatial.pgclient import redact
    from spatial.seed import seed

    settings = Settings()
    url = url_or_fail(settings)
    if not yes and not typer.confirm(f"Erase all LAPIS data in {redact(url)}?"):
        raise typer.Exit(1)
    migrate.downgrade(url, "base")
    migrate.upgrade(url, "head")
    seed(url, settings.bundled_data_dir)
    console.print("database reset and reseeded")


db_cli.registered_commands.extend(access_cli.registered_commands)  # status, grant
db_cli.registered_commands.extend(ops_cli.registered_commands)  # backup, restore, basebackup, recover
db_cli.add_typer(replica_cli, name="replica")


@tiles_cli.command("export")
def tiles_export(
    output: Path = typer.Argument(..., help="The .pmtiles file to write"),
    minzoom: int = typer.Option(0, "--minzoom", min=0, max=24, help="First zoom level"),
    maxzoom: int = typer.Option(14, "--maxzoom", min=0, max=24, help="Last zoom level"),
    collections: str = typer.Option(None, "--collections", help="Subset of layers, e.g. zones,axes"),
) -> None:
    """Export the composite plan tiles covering the province to a PMTiles archive."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from spatial.errors import SpatialInputError
    from spatial.layers import UnknownLayer
    from spatial.tiles.pmtiles_export import export_pmtiles

    if minzoom > maxzoom:
        raise fail(f"--minzoom {minzoom} is above --maxzoom {maxzoom}", 2)
    names = [c.strip() for c in collections.split(",") if c.strip()] if collections else None
    url = url_or_fail(Settings())
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task("tiles", total=None)
        try:
            result = export_pmtiles(url, output, minzoom=minzoom, maxzoom=maxzoom, collections=names,
                                    progress=lambda done, total: bar.update(task, completed=done, total=total))
        except UnknownLayer as exc:
            raise fail(f"--collections: {exc}", 2) from None
        except SpatialInputError as exc:
            raise fail(str(exc)) from None
        except OSError as exc:  # the archive cannot be written there (the database's errors are not OSErrors)
            raise fail(f"{output}: {exc.strerror or exc}") from None
    console.print(f"{result.written} tiles (of {result.planned} planned, the rest empty) written to "
                  f"{result.path} ({result.bytes / 1024:.0f} KiB), z{minzoom}–{maxzoom}")


def _pairs(values: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise fail(f"{option} {item!r}: expected NAME=VALUE")
        pairs[key.strip()] = value.strip()
    return pairs


@cli.command()
def load(
    path: Path = typer.Argument(..., help="Shapefile (.shp, .zip or a folder of several), .gpkg, .geojson, .fgb, .csv"),
    layer: str = typer.Option(..., "--layer", help="Target layer (table)"),
    source_layer: str = typer.Option(None, "--source-layer", help="Layer inside a GeoPackage"),
    crs: str = typer.Option(None, "--crs", help="CRS of the input, overriding/declaring its .prj (e.g. EPSG:9210)"),
    encoding: str = typer.Option("auto", "--encoding", help="auto | utf-8 | cp1258 | tcvn3 | vni | latin-1"),
    mode: str = typer.Option("append", "--mode", help="append | replace | upsert"),
    key: str = typer.Option("code", "--key", help="Column matched by --mode upsert"),
    set_: list[str] = typer.Option([], "--set", help="FIELD=VALUE given to every loaded feature"),
    map_: list[str] = typer.Option([], "--map", help="SRC=DEST: source field SRC feeds layer column DEST"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Do everything, report, then roll back"),
    strict: bool = typer.Option(False, "--strict", help="Reject invalid geometries instead of repairing; "
                                "features outside the province's extent are an error"),
    report: Path = typer.Option(None, "--report", help="Write the report as JSON to this file"),
) -> None:
    """Load a file into a layer: all-or-nothing, one transaction, with a report. Exit codes: 0 loaded, 1 error
    (nothing loaded), 2 database unreachable, 3 nothing to load (rolled back), 4 --strict and some rejected."""
    import psycopg

    from app.load_progress import LoadProgress, exit_code, outcome
    from spatial.errors import SpatialInputError
    from spatial.io.encodings import ENCODINGS
    from spatial.io.loader import LoadOptions
    from spatial.io.loader import load as run_load

    if encoding != "auto" and encoding not in ENCODINGS:
        raise fail(f"--encoding {encoding!r}: use auto, {', '.join(ENCODINGS)}")
    if mode not in ("append", "replace", "upsert"):
        raise fail(f"--mode {mode!r}: use append, replace or upsert")
    options = LoadOptions(layer=layer, mode=mode, key=key, crs=crs, encoding=encoding,  # type: ignore[arg-type]
                          set_values=_pairs(set_, "--set"), field_map=_pairs(map_, "--map"),
                          source_layer=source_layer, dry_run=dry_run, strict=strict)
    url = url_or_fail(Settings())
    try:
        with LoadProgress(console) as shown:
            result = run_load(url, path, options, progress=shown.advance, on_total=shown.on_total,
                              on_phase=shown.on_phase)
    except SpatialInputError as exc:
        raise fail(f"{exc}\nnothing was loaded; the layer is unchanged") from None
    except psycopg.Error as exc:
        if isinstance(exc, psycopg.OperationalError):
            raise  # the database cannot be reached (or went away): `main` says so, exit 2
        diag = exc.diag
        detail = f" ({diag.message_detail})" if diag.message_detail else ""
        constraint = f" [constraint {diag.constraint_name}]" if diag.constraint_name else ""
        raise fail(f"the database refused the load: {diag.message_primary or exc}{detail}{constraint}\n"
                   "nothing was loaded; the layer is unchanged") from None
    _print_report(result)
    if report is not None:
        report.write_bytes(json_dumps(result.as_dict()))
        console.print(f"report written to {report}")
    console.print(outcome(result, strict))
    if code := exit_code(result, strict):
        raise typer.Exit(code)


def _print_report(r: LoadReport) -> None:
    title = f"lapis load → {r.layer} ({r.mode}{', DRY RUN: rolled back' if r.dry_run else ''})"
    table = Table("", "", title=title, show_header=False)
    for s in r.sources:
        table.add_row("source", f"{s.source} [{s.driver}], {s.features} features")
        table.add_row("  CRS in → out", f"{s.crs_in} → {s.crs_out} ({s.crs_how})")
        table.add_row("  transformation", str(s.transformation))
        table.add_row("  encoding", f"{s.encoding}: {s.encoding_reason}")
    table.add_row("mapping", ", ".join(f"{k} ← {v}" for k, v in r.mapping.items()) or "-")
    table.add_row("props", ", ".join(r.props_fields) or "-")
    table.add_row("code", r.code_rule)
    table.add_row("read", str(r.read))
    table.add_row("loaded", f"{r.loaded} (inserted {r.inserted}, updated {r.updated}, unchanged {r.unchanged}"
                  f"{f', deleted first {r.deleted}' if r.deleted else ''})")
    table.add_row("repaired", str(r.repaired))
    table.add_row("rejected", str(r.rejected))
    for x in r.rejects[:20]:
        table.add_row("", f"{x['source']} row {x['row']} ({x['code']}): {x['reason']}")
    if r.rejected > 20:
        table.add_row("", f"… {r.rejected - 20} more (see --report)")
    for w in r.warnings:
        table.add_row("[yellow]warning[/]", w)
    table.add_row("elapsed", f"{r.elapsed_s:.2f} s ({r.read / max(r.elapsed_s, 1e-9):,.0f} features/s)")
    console.print(table)


@cli.command()
def export(
    layer: str = typer.Argument(..., help="Layer to export"),
    out: Path = typer.Argument(..., help="Output file: .gpkg, .shp, .geojson, .fgb, .csv or .parquet (GeoParquet; "
                               "a folder: a partitioned GeoParquet dataset)"),
    crs: str = typer.Option(None, "--crs", help="Output CRS (default EPSG:4326), e.g. EPSG:9210"),
    filter_: str = typer.Option(None, "--filter", help="CQL2 text, e.g. \"level = 'district'\""),
    bbox: str = typer.Option(None, "--bbox", help="minlon,minlat,maxlon,maxlat (EPSG:4326)"),
    partitions: int = typer.Option(None, "--partitions", min=1, help="GeoParquet dataset: OUT is a folder of this "
                                   "many files, each a compact area"),
    asof: str = typer.Option(None, "--asof", help="The layer as it stood at this instant (RFC 3339 with its offset)"),
    revision: str = typer.Option(None, "--revision", help="The layer as plan revision N fixed it (lapis revision "
                                 "list), e.g. 1: the bundled plan of Decision 686/QĐ-TTg"),
) -> None:
    """Export a layer to a file (shapefiles with .cpg UTF-8 and .prj; GeoParquet 1.1 in spatial order)."""
    from spatial.errors import SpatialInputError
    from spatial.io.export import export_layer

    box = None
    if bbox:
        try:
            box = tuple(float(v) for v in bbox.split(","))
        except ValueError:
            raise fail(f"--bbox {bbox!r}: four numbers separated by commas") from None
        if len(box) != 4:
            raise fail(f"--bbox {bbox!r}: four numbers separated by commas")
    url = url_or_fail(Settings())
    at = instant(asof, revision, url)
    try:
        result = export_layer(url, layer, out, crs=crs, cql2=filter_, bbox=box,  # type: ignore[arg-type]
                              partitions=partitions, asof=at)
    except SpatialInputError as exc:
        raise fail(str(exc)) from None
    console.print(f"exported {result.features} features of {result.layer} to {result.path} "
                  f"({result.driver}, {result.crs})")


cli.registered_commands.extend(analysis_cli.registered_commands)  # classify, report


def _unreachable_database(exc: Exception) -> bool:
    """A connection failure from psycopg, from the asyncpg pool (`tiles export`), or from SQLAlchemy when a command
    used it — looked up, not imported: SQLAlchemy costs a tenth of a second to import, and a command that never
    imported it cannot raise it."""
    import psycopg

    from spatial.errors import DatabaseUnavailable

    sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
    return isinstance(exc, psycopg.OperationalError | DatabaseUnavailable) or (
        sqlalchemy_errors is not None and isinstance(exc, sqlalchemy_errors.OperationalError))


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
    except EmbeddedError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)
    except Exception as exc:
        if not _unreachable_database(exc):
            raise
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        console.print(f"[bold red]error:[/] cannot reach the database: {reason}")
        sys.exit(2)


if __name__ == "__main__":
    main()
