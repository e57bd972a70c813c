"""`lapis db seed` is idempotent and all-or-nothing."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from spatial.layers import SPATIAL_LAYERS
from spatial.seed import seed
from tests.helpers import BUNDLED_DATA


def _snapshot(url: str) -> dict[str, tuple[int, object, object]]:
    out = {}
    with psycopg.connect(url) as conn:
        for layer in (*SPATIAL_LAYERS, ):
            out[layer.id] = conn.execute(
                f"SELECT count(*), max(updated_at), sum(hashtext(code || name_vi)) FROM {layer.id}"
            ).fetchone()
        out["plans"] = conn.execute("SELECT count(*), max(updated_at), 0 FROM plans").fetchone()
    return out


def test_seed_twice_changes_nothing(fresh_db_url: str) -> None:
    before = _snapshot(fresh_db_url)
    results = seed(fresh_db_url, BUNDLED_DATA)
    assert all(r.inserted == 0 and r.updated == 0 and r.unchanged == r.staged for r in results), results
    assert _snapshot(fresh_db_url) == before


def test_seed_counts_match_the_files(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        for path in BUNDLED_DATA.glob("*.geojson"):
            features = json.loads(path.read_text())["features"]
            count = conn.execute(f"SELECT count(*) FROM {path.stem}").fetchone()[0]  # stem is a layer id
            assert count == len(features), path.name
        assert conn.execute("SELECT count(*) FROM admin_units WHERE level = 'district'").fetchone()[0] == 15
        linked = conn.execute("SELECT count(*) FROM zones WHERE plan_id IS NULL").fetchone()[0]
        assert linked == 0, "every zone is linked to the plan"


def test_seed_is_all_or_nothing(fresh_db_url: str, tmp_path: Path) -> None:
    """A bad feature in the last file leaves every layer exactly as before."""
    broken = tmp_path / "data"
    broken.mkdir()
    for path in BUNDLED_DATA.glob("*.geojson"):
        (broken / path.name).write_bytes(path.read_bytes())
    projects = json.loads((broken / "projects.geojson").read_text())
    projects["features"][0]["properties"]["name_vi"] = "Dự án đổi tên"
    projects["features"][-1]["properties"]["category"] = "not-a-category"  # violates a CHECK
    (broken / "projects.geojson").write_text(json.dumps(projects, ensure_ascii=False))
    before = _snapshot(fresh_db_url)
    with pytest.raises(psycopg.errors.CheckViolation):
        seed(fresh_db_url, broken)
    assert _snapshot(fresh_db_url) == before
