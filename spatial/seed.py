"""Load the bundled plan data (data/geojson/<layer>.geojson) in one transaction, idempotently.

It goes through the loaders' own pipeline (`spatial.io.loader.load_into`, upsert by `code`), so a
second run changes nothing: unchanged rows are not even rewritten (their `updated_at` stays). The bundled plan
becomes revision 1 (Decision 686/QĐ-TTg) in the same transaction, unless a revision is recorded already.
"""

from __future__ import annotations

from pathlib import Path

from spatial.db import connect
from spatial.history.revisions import record_bundled
from spatial.io.loader import LoadOptions, LoadReport, load_into
from spatial.layers import LAYERS


def bundled_files(data_dir: Path) -> list[tuple[str, Path]]:
    """The bundled files, in registry order: plans first, as the other layers refer to a plan by its code."""
    return [(layer_id, data_dir / f"{layer_id}.geojson") for layer_id in LAYERS
            if (data_dir / f"{layer_id}.geojson").exists()]


def seed(url: str, data_dir: Path) -> list[LoadReport]:
    reports = []
    with connect(url) as conn, conn.transaction():
        for layer_id, path in bundled_files(data_dir):
            reports.append(load_into(conn, path, LoadOptions(layer=layer_id, mode="upsert", key="code")))
        record_bundled(conn)
    return reports
