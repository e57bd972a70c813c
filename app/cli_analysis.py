"""`lapis` analysis commands — `classify` (parcels against the plan), `report` (the plan's HTML report) and
`qgis project` — each a thin call into `spatial.analysis` or `spatial.qgis`. `app.cli` adds them to `lapis`."""

from __future__ import annotations

from pathlib import Path

import typer

from app.cli_common import console, fail, url_or_fail
from spatial.settings import Settings

analysis_cli = typer.Typer()  # its commands join `lapis` itself
qgis_cli = typer.Typer(help="QGIS: a project of the plan, styled like the web map.", no_args_is_help=True)


@analysis_cli.command()
def classify(
    input_: Path = typer.Argument(..., metavar="INPUT", help="Parcels: GeoParquet (file or dataset folder), shapefile, "
                                  "GeoPackage, GeoJSON, FlatGeobuf or CSV"),
    out: Path = typer.Argument(..., help="Output: a GeoParquet dataset folder (part-00000.parquet …)"),
    engine: str = typer.Option("local", "--engine", help="local (this process) | dask (a Dask cluster; GeoParquet "
                               "input) | postgis (/classify's SQL in the database)"),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler, e.g. tcp://host:8786 (default: a "
                                  "LocalCluster of --workers processes)"),
    partitions: int = typer.Option(None, "--partitions", min=1, help="Cut the input into this many partitions"),
    workers: int = typer.Option(None, "--workers", min=1, help="LocalCluster worker processes (default 2)"),
    crs: str = typer.Option(None, "--crs", help="CRS of an input that does not say (e.g. EPSG:9210)"),
) -> None:
    """Classify parcels against the plan (the answers of POST /classify) into a partitioned GeoParquet dataset."""
    from spatial.analysis.classification import ENGINES, classify_file
    from spatial.errors import SpatialInputError

    if engine not in ENGINES:
        raise fail(f"--engine {engine!r}: use {' | '.join(ENGINES)}", 2)
    if scheduler and engine != "dask":
        raise fail("--scheduler needs --engine dask", 2)
    try:
        report = classify_file(input_, out, engine, url=url_or_fail(Settings()), crs=crs, scheduler=scheduler,
                               partitions=partitions, workers=workers)
    except (SpatialInputError, ValueError) as exc:
        raise fail(str(exc)) from None
    console.print(f"classified {report.rows:,} parcels with the {report.engine} engine ({report.workers} worker"
                  f"{'s' if report.workers != 1 else ''}) in {report.seconds:.1f} s ({report.rate:,.0f} parcels/s): "
                  f"{report.partitions} partitions in {report.out}")


@analysis_cli.command()
def report(
    out: Path = typer.Argument(Path("plan.html"), help="The HTML file to write"),
    parcels: Path = typer.Option(None, "--parcels", help="Parcels to summarise: a `lapis classify` output folder or "
                                 "any parcels file (default: the parcels layer)"),
) -> None:
    """Write the plan's analysis report: tables and charts in one self-contained HTML page (Vietnamese, English)."""
    from spatial.analysis.report import write_report
    from spatial.errors import SpatialInputError

    try:
        path = write_report(out, url_or_fail(Settings()), parcels)
    except SpatialInputError as exc:
        raise fail(str(exc)) from None
    console.print(f"report written to {path} ({path.stat().st_size / 1024:,.0f} KiB)")


@qgis_cli.command("project")
def qgis_project(
    output: Path = typer.Argument(..., help="The QGIS project to write: .qgz (or .qgs)"),
    source: str = typer.Option("oapif", "--source", help="oapif (the LAPIS server) | postgis (the database)"),
    url: str = typer.Option(None, "--url", help="oapif: the LAPIS server (default http://LAPIS_HOST:LAPIS_PORT); "
                            "postgis: a database URL (default: LAPIS's database)"),
    lang: str = typer.Option("vi", "--lang", help="vi | en: layer names and labels"),
    parcels: bool = typer.Option(False, "--parcels", help="Add the parcels (drawn from zoom 13, as on the web map)"),
) -> None:
    """Write a QGIS project (3.22 or later) of the plan layers, drawn and labelled as the web map draws them."""
    import psycopg

    from spatial.qgis.project import SOURCES, write_project

    if source not in SOURCES:
        raise fail(f"--source {source!r}: use {' or '.join(SOURCES)}", 2)
    if lang not in ("vi", "en"):
        raise fail(f"--lang {lang!r}: use vi or en", 2)
    settings = Settings()
    if source == "oapif":
        where = url or f"http://{'127.0.0.1' if settings.host in ('0.0.0.0', '::') else settings.host}:{settings.port}"
    else:
        where = url or url_or_fail(settings, owner=False)  # the server's login: it reads, and writes nothing
    try:
        layers = write_project(output, source, where, lang=lang, detail=parcels)  # type: ignore[arg-type]
    except psycopg.ProgrammingError as exc:
        raise fail(f"--url {where!r} is not a database URL libpq reads: {exc}", 2) from None
    console.print(f"QGIS project written to {output}: {len(layers)} layers from "
                  f"{where if source == 'oapif' else 'PostGIS (' + _database_note(where) + ')'}")


def _database_note(url: str) -> str:
    from spatial.conninfo import connection_text

    text, hidden = connection_text(url, "libpq")
    return text + ("; the password is not stored: QGIS asks for it" if hidden else "")
