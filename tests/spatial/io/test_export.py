"""`lapis export` and the round trip export → load."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
import shapely
from typer.testing import CliRunner

from app.cli import cli
from spatial.io.errors import LoadError
from spatial.io.export import export_layer
from spatial.io.loader import LoadOptions, load

ROW = "SELECT code, name_vi, name_en, source, accuracy, level, gso_code, unit_type, parent_code, props, plan_id, " \
      "ST_AsBinary(geom) FROM admin_units ORDER BY code"


def _rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(ROW).fetchall()


def _same(a: list[tuple], b: list[tuple], tolerance: float = 1e-9) -> None:
    assert [r[:-1] for r in a] == [r[:-1] for r in b]
    for x, y in zip(a, b, strict=True):
        assert shapely.equals_exact(shapely.from_wkb(bytes(x[-1])).normalize(),
                                    shapely.from_wkb(bytes(y[-1])).normalize(), tolerance)


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".fgb", ".csv"])
def test_round_trip_reproduces_the_layer(db_url: str, fresh_db_url: str, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"admin_units{suffix}"
    report = export_layer(db_url, "admin_units", out)
    assert report.features == 16
    load(fresh_db_url, out, LoadOptions(layer="admin_units", mode="replace"))
    _same(_rows(db_url), _rows(fresh_db_url))


def test_shapefile_export_has_cpg_and_prj_and_round_trips_in_vn2000(db_url: str, fresh_db_url: str,
                                                                    tmp_path: Path) -> None:
    with psycopg.connect(fresh_db_url) as conn:  # props and source short enough for a DBF field (254 bytes)
        conn.execute("UPDATE admin_units SET props = jsonb_build_object('n', id), "
                     "source = 'OCHA COD-AB 2020 via geoBoundaries, CC BY 3.0 IGO (see NOTICE)'")
    out = tmp_path / "au.shp"
    report = export_layer(fresh_db_url, "admin_units", out, crs="EPSG:9210", cql2="level = 'district'")
    assert report.features == 15 and report.crs == "EPSG:9210"
    assert out.with_suffix(".cpg").read_text().strip().upper() == "UTF-8"
    assert "105.75" in out.with_suffix(".prj").read_text()
    before = _rows(fresh_db_url)
    loaded = load(fresh_db_url, out, LoadOptions(layer="admin_units", mode="upsert"))
    assert loaded.sources[0].crs_in.startswith("EPSG:9210") and loaded.unchanged + loaded.updated == 15
    _same(before, _rows(fresh_db_url), tolerance=1e-7)  # through VN-2000 and back: well under a centimetre


def test_filter_and_bbox(db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "f.geojson"
    assert export_layer(db_url, "admin_units", out, cql2="level = 'district' AND name_vi LIKE '%Đức%'").features == 2
    assert export_layer(db_url, "admin_units", out, bbox=(106.3, 10.4, 106.8, 10.7)).features >= 3
    with pytest.raises(LoadError, match="--filter: unknown property 'nope'") as error:
        export_layer(db_url, "admin_units", out, cql2="nope = 1")
    assert error.value.parameter == "filter"
    with pytest.raises(LoadError, match="--crs 'EPSG:0' is not a CRS PROJ knows") as error:
        export_layer(db_url, "admin_units", out, crs="EPSG:0")
    assert error.value.parameter == "crs"
    with pytest.raises(LoadError, match="--bbox: plans has no geometry") as error:
        export_layer(db_url, "plans", out, bbox=(106.3, 10.4, 106.8, 10.7))
    assert error.value.parameter == "bbox"
    # the API's whole CQL2: spatial predicates too (a point in Tân An), and syntax errors are clear
    inside = "S_INTERSECTS(geometry, POINT(106.413 10.535)) AND level = 'district'"
    assert export_layer(db_url, "admin_units", out, cql2=inside).features == 1
    with pytest.raises(LoadError, match="--filter: CQL2 syntax error"):
        export_layer(db_url, "admin_units", out, cql2="level = = 'x'")
    with pytest.raises(LoadError, match="mixes geometry types"):
        export_layer(db_url, "projects", tmp_path / "p.shp")


def test_cli_load_and_export(fresh_db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": fresh_db_url}
    out = tmp_path / "zones.gpkg"
    result = runner.invoke(cli, ["export", "zones", str(out)], env=env)
    assert result.exit_code == 0, result.output
    report = tmp_path / "report.json"
    result = runner.invoke(cli, ["load", str(out), "--layer", "zones", "--mode", "upsert", "--report", str(report)],
                           env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text())["unchanged"] == 6
    result = runner.invoke(cli, ["load", str(tmp_path / "missing.shp"), "--layer", "zones"], env=env)
    output = " ".join(result.output.split())
    assert result.exit_code == 1 and "no such file" in output and "the layer is unchanged" in output
    result = runner.invoke(cli, ["load", str(out), "--layer", "zones", "--set", "kind"], env=env)
    assert result.exit_code == 1 and "NAME=VALUE" in " ".join(result.output.split())
    # a domain error from inside the loader or exporter: its message, no traceback, a non-zero exit
    result = runner.invoke(cli, ["load", str(out), "--layer", "zones", "--mode", "upsert", "--key", "nope"], env=env)
    output = " ".join(result.output.split())
    assert result.exit_code == 1 and "--key 'nope' is not a column of zones" in output, result.output
    assert "the layer is unchanged" in output and "Traceback" not in output
    result = runner.invoke(cli, ["export", "zones", str(tmp_path / "z.geojson"), "--crs", "EPSG:0"], env=env)
    assert result.exit_code == 1 and "--crs 'EPSG:0' is not a CRS" in " ".join(result.output.split()), result.output
