"""`lapis restore` and `lapis history export`: thin calls into `spatial.history`. `app.cli` adds them (and reads
`--asof` for `lapis export` with `instant` below)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from app.cli_common import console, fail, login_url
from spatial.errors import SpatialInputError

restore_cli = typer.Typer()
history_cli = typer.Typer(help="The features' recorded history.", no_args_is_help=True)
ASOF_HELP = "The plan as it stood at this instant: RFC 3339 with its offset, e.g. 2026-11-27T10:00:00+07:00"


def instant(asof: str | None, revision: str | None = None, url: str | None = None) -> datetime | None:
    """The instant a command reads the plan at: `--asof`, or the instant plan revision `--revision` was published
    (looked up at `url`), or None for the present. A mistake exits 2 with the reason."""
    from spatial.db import connect
    from spatial.history.asof import parse_asof
    from spatial.history.revisions import parse_revision_number, revision_instant_sync

    try:
        if revision is None:
            return parse_asof(asof, "--asof")
        if asof is not None:
            raise fail("--revision: give a revision or --asof, not both", 2)
        number = parse_revision_number(revision, "--revision")
        with connect(url or login_url()) as conn:
            return revision_instant_sync(conn, number, "--revision")
    except SpatialInputError as exc:
        raise fail(f"{exc.detail} (lapis revision list shows them)" if revision else exc.detail, 2) from None


@restore_cli.command("restore")
def restore(
    layer: str = typer.Argument(..., help="The layer (collection id), e.g. parcels"),
    feature_id: int = typer.Argument(..., help="The feature's id"),
    asof: str = typer.Option(None, "--asof", help="Restore the feature as it was at this instant (deleted or not); "
                             "without it, a deleted feature comes back as it was just before its deletion"),
    reason: str = typer.Option(None, "--reason", help="Why (recorded with the change; default \"restored version "
                               "N\")"),
) -> None:
    """Bring a feature back as a new version, recorded in its history like any change."""
    from spatial.db import connect
    from spatial.history.restore import restore_sync
    from spatial.layers import get_layer

    at = instant(asof)
    try:
        target = get_layer(layer)
        with connect(login_url()) as conn, conn.transaction():
            conn.execute("SELECT set_config('lapis.reason', %s, true)", (reason or "",))
            result = restore_sync(conn, target, feature_id, at)
    except SpatialInputError as exc:
        raise fail(str(exc)) from None
    what = {"insert": "is back", "update": "was rolled back", "unchanged": "already was"}[result.action]
    console.print(f"{layer} {feature_id} {what} as version {result.restored_from} (now version {result.version})",
                  highlight=False)


@history_cli.command("export")
def history_export(
    layer: str = typer.Argument(..., help="The layer (collection id), e.g. parcels"),
    out: Path = typer.Argument(..., help="Output file: .gpkg (or .geojson, .fgb, .csv)"),
) -> None:
    """Write every version of every feature of LAYER, with its validity (valid_from, valid_to), for the archive."""
    from spatial.history.export import export_history

    try:
        report = export_history(login_url(), layer, out)
    except SpatialInputError as exc:
        raise fail(str(exc)) from None
    console.print(f"exported {report.features} versions of {report.layer} to {report.path} ({report.driver})",
                  highlight=False)
