"""`lapis load` end to end against a real PostGIS, with files the tests write themselves."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import pytest
import shapely
from pyproj import CRS
from pyproj.transformer import TransformerGroup

from spatial.errors import SpatialInputError
from spatial.io.errors import LoadError
from spatial.io.loader import LoadOptions, load
from tests.helpers import snapshot
from tests.spatial.io.files import DISTRICTS, VN2000_PRJ_ESRI, shapefile, squares

BOWTIE = shapely.Polygon([(106.0, 10.5), (106.01, 10.51), (106.01, 10.5), (106.0, 10.51), (106.0, 10.5)])


def _names(url: str, layer: str, where: str = "TRUE") -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(f"SELECT name_vi FROM {layer} WHERE {where} ORDER BY id")]  # noqa: S608


def _vn2000_6960() -> tuple:
    group = TransformerGroup(CRS.from_epsg(4326), CRS.from_epsg(9210), always_xy=True)
    forward = next(t for t in group.transformers if "VN-2000 to WGS 84 (2)" in t.description)
    return forward


def test_vn2000_shapefile_lands_within_half_a_metre(fresh_db_url: str, tmp_path: Path) -> None:
    lonlat = squares(5, x0=106.3, y0=10.6, size=0.002)
    forward = _vn2000_6960()
    projected = [shapely.transform(g, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1])))
                 for g in lonlat]
    assert projected[0].bounds[0] > 100_000  # metres, TM-3
    path = shapefile(tmp_path / "vn2000.shp", projected, [f"Thửa {i}" for i in range(5)], prj=VN2000_PRJ_ESRI,
                     cpg="UTF-8")
    report = load(fresh_db_url, path, LoadOptions(layer="parcels"))
    assert report.loaded == 5 and report.rejected == 0
    source = report.sources[0]
    assert source.crs_in.startswith("EPSG:9210")
    assert "VN-2000 to WGS 84 (2)" in source.transformation
    with psycopg.connect(fresh_db_url) as conn:
        rows = conn.execute("SELECT name_vi, ST_AsBinary(geom) FROM parcels WHERE code LIKE 'vn2000-%' "
                            "ORDER BY code").fetchall()
        version = conn.execute("SELECT version FROM layer_versions WHERE layer = 'parcels'").fetchone()[0]
    assert version == report.txid, "one load, one new layer version: the load's own transaction id"
    assert [r[0] for r in rows] == [f"Thửa {i}" for i in range(5)]
    for (_, wkb), expected in zip(rows, lonlat, strict=True):
        got = shapely.get_coordinates(shapely.from_wkb(bytes(wkb)))
        want = shapely.get_coordinates(expected)
        # every vertex (rings may be re-oriented by the shapefile writer), in metres on the ground at 10.6° N
        dx = (got[:, None, 0] - want[None, :, 0]) * 109_450
        dy = (got[:, None, 1] - want[None, :, 1]) * 110_600
        assert np.hypot(dx, dy).min(axis=0).max() < 0.5


def test_missing_prj_with_projected_coordinates_is_a_clear_error(fresh_db_url: str, tmp_path: Path) -> None:
    forward = _vn2000_6960()
    projected = [shapely.transform(g, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1])))
                 for g in squares(3, x0=106.4, y0=10.6)]
    path = shapefile(tmp_path / "noprj.shp", projected, ["a", "b", "c"], prj=None)
    before = snapshot(fresh_db_url, "parcels")
    with pytest.raises(LoadError) as error:
        load(fresh_db_url, path, LoadOptions(layer="parcels"))
    message = str(error.value)
    assert "--crs" in message and "EPSG:9210" in message and "no .prj" in message
    assert snapshot(fresh_db_url, "parcels") == before
    # and with --crs it loads
    report = load(fresh_db_url, path, LoadOptions(layer="parcels", crs="EPSG:9210"))
    assert report.loaded == 3 and report.sources[0].crs_how == "given with --crs"


def test_utf8_dbf_without_cpg(fresh_db_url: str, tmp_path: Path) -> None:
    path = shapefile(tmp_path / "utf8.shp", squares(15), list(DISTRICTS), encoding="utf-8")
    report = load(fresh_db_url, path, LoadOptions(layer="admin_units", set_values={"level": "district"}))
    assert report.sources[0].encoding == "utf-8"
    assert "no .cpg" in report.sources[0].encoding_reason
    assert _names(fresh_db_url, "admin_units", "code LIKE 'utf8-%'") == list(DISTRICTS)


@pytest.mark.parametrize("encoding", ["cp1258", "tcvn3", "vni"])
def test_legacy_dbf_decoded_to_exact_nfc_names(fresh_db_url: str, tmp_path: Path, encoding: str) -> None:
    path = shapefile(tmp_path / f"{encoding}.shp", squares(15), list(DISTRICTS), encoding=encoding, ldid=0x57)
    report = load(fresh_db_url, path, LoadOptions(layer="admin_units", set_values={"level": "district"}))
    assert report.sources[0].encoding == encoding, report.sources[0].encoding_reason
    assert "LDID 0x57" in report.sources[0].encoding_reason
    assert _names(fresh_db_url, "admin_units", f"code LIKE '{encoding}-%'") == list(DISTRICTS)


def test_cpg_and_ldid_are_honoured(fresh_db_url: str, tmp_path: Path) -> None:
    cp = shapefile(tmp_path / "cpg.shp", squares(2), ["Huyện Đức Huệ", "Bến Lức"], encoding="cp1258",
                   cpg="1258")
    report = load(fresh_db_url, cp, LoadOptions(layer="admin_units", set_values={"level": "district"}))
    assert report.sources[0].encoding == "cp1258" and ".cpg" in report.sources[0].encoding_reason
    ldid = shapefile(tmp_path / "ldid.shp", squares(1), None, extra={"ten": ["Gr\xfc\xdfe".encode("cp437")]},
                     ldid=0x01)
    report = load(fresh_db_url, ldid, LoadOptions(layer="admin_units", set_values={"level": "district"}))
    assert report.sources[0].encoding == "cp437"
    assert _names(fresh_db_url, "admin_units", "code = 'ldid-1'") == ["Grüße"]


def test_invalid_polygons_repaired_and_counted_or_rejected_when_strict(fresh_db_url: str, tmp_path: Path) -> None:
    geoms = [*squares(2), BOWTIE, None, shapely.Polygon()]
    path = shapefile(tmp_path / "broken.shp", geoms, ["a", "b", "bowtie", "null", "empty"])
    report = load(fresh_db_url, path, LoadOptions(layer="parcels"))
    assert (report.read, report.loaded, report.repaired, report.rejected) == (5, 3, 1, 2)
    reasons = {r["row"]: r["reason"] for r in report.rejects}
    assert reasons[4] == "null geometry" and reasons[5] in ("empty geometry", "null geometry")
    with psycopg.connect(fresh_db_url) as conn:
        kind, valid = conn.execute("SELECT GeometryType(geom), ST_IsValid(geom) FROM parcels "
                                   "WHERE code = 'broken-3'").fetchone()
    assert (kind, valid) == ("MULTIPOLYGON", True)
    strict = load(fresh_db_url, path, LoadOptions(layer="parcels", mode="replace", strict=True))
    assert strict.repaired == 0 and strict.rejected == 3
    assert any(r["row"] == 3 and r["reason"].startswith("invalid geometry") for r in strict.rejects)


def _isvalid_calls(url: str) -> int:
    with psycopg.connect(url) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return conn.execute("SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions "
                            "WHERE funcname = 'st_isvalid'").fetchone()[0]


def test_valid_load_validates_once_and_an_invalid_row_gets_the_full_check(fresh_db_url: str, tmp_path: Path) -> None:
    """The layer's CHECK (ST_IsValid) is the only validity pass when every geometry is valid; one invalid row
    sends the load back (savepoint) through the full check, with the same report as a check-first load."""
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {conn.info.dbname} SET track_functions = 'all'")
    before = _isvalid_calls(fresh_db_url)
    report = load(fresh_db_url, shapefile(tmp_path / "valid.shp", squares(3), ["a", "b", "c"]),
                  LoadOptions(layer="parcels"))
    assert (report.loaded, report.repaired, report.rejected) == (3, 0, 0)
    assert _isvalid_calls(fresh_db_url) - before == 3  # once per row: the table's CHECK
    # a far-away invalid row: repaired, and the extent warning appears once although the checks ran twice
    geoms = [*squares(2), shapely.affinity.translate(BOWTIE, 100.0, 40.0)]
    path = shapefile(tmp_path / "mixed.shp", geoms, ["a", "b", "far bowtie"])
    report = load(fresh_db_url, path, LoadOptions(layer="parcels", mode="replace"))
    assert (report.read, report.loaded, report.repaired, report.rejected, report.outside_extent) == (3, 3, 1, 0, 1)
    assert sum("outside Long An" in w for w in report.warnings) == 1
    inside = shapefile(tmp_path / "inside.shp", [*squares(2), BOWTIE], ["a", "b", "bowtie"])
    strict = load(fresh_db_url, inside, LoadOptions(layer="parcels", mode="replace", strict=True))
    assert (strict.loaded, strict.repaired, strict.rejected) == (2, 0, 1)
    assert strict.rejects[0]["reason"].startswith("invalid geometry: Self-intersection")
    with psycopg.connect(fresh_db_url) as conn:
        assert conn.execute("SELECT count(*), count(*) FILTER (WHERE NOT ST_IsValid(geom)) FROM parcels").fetchone() \
            == (2, 0)


def test_zipped_shapefile_and_folder_of_several(fresh_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "several"
    folder.mkdir()
    shapefile(folder / "north.shp", squares(2, y0=10.8), ["n1", "n2"], cpg="UTF-8")
    shapefile(folder / "south.shp", squares(3, y0=10.5), ["s1", "s2", "s3"], cpg="UTF-8")
    archive = tmp_path / "parcels.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f"data/{f.name}")
    report = load(fresh_db_url, archive, LoadOptions(layer="parcels"))
    assert report.loaded == 5 and len(report.sources) == 2
    report = load(fresh_db_url, folder, LoadOptions(layer="parcels", mode="upsert"))
    assert report.unchanged == 5 and report.inserted == 0


def test_geopackage_with_two_layers(fresh_db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    gpd.GeoDataFrame({"ma": ["Z1"], "ten": ["Vùng một"], "loai": ["urban"]}, geometry=squares(1),
                     crs=4326).to_file(path, layer="zones_a")
    gpd.GeoDataFrame({"ma": ["Z2", "Z3"], "ten": ["Vùng hai", "Vùng ba"], "loai": ["industrial", "tourism"]},
                     geometry=squares(2), crs=4326).to_file(path, layer="zones_b")
    with pytest.raises(LoadError, match="zones_a, zones_b"):
        load(fresh_db_url, path, LoadOptions(layer="zones"))
    report = load(fresh_db_url, path, LoadOptions(layer="zones", source_layer="zones_b"))
    assert report.loaded == 2 and report.mapping["code"] == "ma" and report.mapping["kind"] == "loai"
    assert _names(fresh_db_url, "zones", "code IN ('Z2', 'Z3')") == ["Vùng hai", "Vùng ba"]


def test_geojson_flatgeobuf_csv_and_mapping(fresh_db_url: str, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"so_thua": ["T1", "T2"], "mdsd": ["ONT", "LUC"], "chu": ["An", "Bình"]},
                             geometry=squares(2), crs=4326)
    frame.to_file(tmp_path / "p.geojson")
    frame.to_file(tmp_path / "p.fgb")
    (tmp_path / "p.csv").write_text("code,lon,lat,owner\nC1,106.1,10.6,Chị Hà\nC2,106.2,10.7,\n")
    report = load(fresh_db_url, tmp_path / "p.geojson",
                  LoadOptions(layer="parcels", set_values={"accuracy": "surveyed"}))
    assert report.mapping["code"] == "so_thua" and report.mapping["land_use"] == "mdsd"
    assert report.props_fields == ["chu"]
    report = load(fresh_db_url, tmp_path / "p.fgb", LoadOptions(layer="parcels", mode="upsert",
                                                                  set_values={"accuracy": "surveyed"},
                                                                  field_map={"chu": "name_vi"}))
    assert report.updated == 2
    with pytest.raises(LoadError, match="no column 'nope'") as error:
        load(fresh_db_url, tmp_path / "p.fgb", LoadOptions(layer="parcels", field_map={"chu": "nope"}))
    assert error.value.parameter == "map"
    with pytest.raises(LoadError, match="required"):
        load(fresh_db_url, tmp_path / "p.fgb", LoadOptions(layer="zones"))
    # a CSV of points cannot go into a polygon layer: every row is listed as rejected
    report = load(fresh_db_url, tmp_path / "p.csv", LoadOptions(layer="parcels"))
    assert report.rejected == 2 and "does not fit" in report.rejects[0]["reason"]
    report = load(fresh_db_url, tmp_path / "p.csv", LoadOptions(layer="projects", set_values={"category": "port"}))
    assert report.loaded == 2
    with psycopg.connect(fresh_db_url) as conn:
        rows = conn.execute("SELECT code, name_vi, accuracy, props FROM parcels WHERE code IN ('T1', 'T2') "
                            "ORDER BY code").fetchall()
        csv_rows = conn.execute("SELECT code, props, ST_AsText(geom) FROM projects WHERE code LIKE 'C%' "
                                "ORDER BY code").fetchall()
    assert rows == [("T1", "An", "surveyed", {}), ("T2", "Bình", "surveyed", {})]
    assert csv_rows == [("C1", {"owner": "Chị Hà"}, "POINT(106.1 10.6)"), ("C2", {}, "POINT(106.2 10.7)")]


def test_dry_run_reports_and_changes_nothing(fresh_db_url: str, tmp_path: Path) -> None:
    path = shapefile(tmp_path / "dry.shp", squares(4), ["a", "b", "c", "d"], cpg="UTF-8")
    before = snapshot(fresh_db_url, "parcels")
    report = load(fresh_db_url, path, LoadOptions(layer="parcels", dry_run=True))
    assert report.inserted == 4 and report.dry_run
    assert snapshot(fresh_db_url, "parcels") == before


def test_outside_extent_warns_or_fails_when_strict(fresh_db_url: str, tmp_path: Path) -> None:
    path = shapefile(tmp_path / "far.shp", squares(2, x0=2.35, y0=48.85), ["Paris", "Paris 2"], cpg="UTF-8")
    before = snapshot(fresh_db_url, "parcels")
    with pytest.raises(LoadError, match="outside Long An"):
        load(fresh_db_url, path, LoadOptions(layer="parcels", strict=True))
    assert snapshot(fresh_db_url, "parcels") == before
    report = load(fresh_db_url, path, LoadOptions(layer="parcels"))
    assert report.outside_extent == 2 and any("outside Long An" in w for w in report.warnings)


def test_damaged_question_marks_are_reported_not_fixed(fresh_db_url: str, tmp_path: Path) -> None:
    path = shapefile(tmp_path / "q.shp", squares(2), ["Nhà d?c l?p", "Sân"], cpg="UTF-8")
    report = load(fresh_db_url, path, LoadOptions(layer="parcels"))
    assert report.sources[0].damaged_text == {"ten": 1}
    assert any("'?' in place of letters" in w for w in report.warnings)
    assert "Nhà d?c l?p" in _names(fresh_db_url, "parcels")


def test_duplicate_codes_rejected_with_reason(fresh_db_url: str, tmp_path: Path) -> None:
    path = shapefile(tmp_path / "dup.shp", squares(3), ["a", "b", "c"], cpg="UTF-8",
                     extra={"ma": ["X1", "X1", "X2"]})
    report = load(fresh_db_url, path, LoadOptions(layer="parcels", mode="upsert"))
    assert report.loaded == 2 and report.rejects[0]["reason"] == "duplicate code 'X1' (first at row 1)"


def test_a_row_with_two_faults_is_one_rejected_row(fresh_db_url: str, tmp_path: Path) -> None:
    """No geometry and no code: both reasons listed, one row rejected (the counts were of reasons, once)."""
    path = shapefile(tmp_path / "two.shp", [None, *squares(2)], ["a", "b", "c"], cpg="UTF-8",
                     extra={"ma": ["", "X1", "X2"]})
    report = load(fresh_db_url, path, LoadOptions(layer="parcels", mode="upsert"))
    assert (report.read, report.rejected, report.loaded, report.inserted, report.unchanged) == (3, 1, 2, 2, 0)
    assert [(r["row"], r["reason"]) for r in report.rejects] == [(1, "no code (empty code field)"),
                                                                (1, "null geometry")]


def _indexes_and_keys(url: str, layer: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT indexname, indexdef, NULL FROM pg_indexes WHERE tablename = %s "
            "UNION ALL SELECT conname, pg_get_constraintdef(oid), contype::text FROM pg_constraint "
            "WHERE conrelid = %s::regclass ORDER BY 1, 3", (layer, layer)).fetchall()


def test_bulk_replace_rebuilds_indexes_in_the_transaction(fresh_db_url: str, tmp_path: Path) -> None:
    path = shapefile(tmp_path / "bulk.shp", squares(30), [f"p{i}" for i in range(30)], cpg="UTF-8")
    before = snapshot(fresh_db_url, "parcels")
    definitions = _indexes_and_keys(fresh_db_url, "parcels")
    report = load(fresh_db_url, path, LoadOptions(layer="parcels", mode="replace", bulk_threshold=10))
    assert report.indexes_rebuilt >= 5 and report.inserted == 30
    after = snapshot(fresh_db_url, "parcels")
    assert after[-1] == before[-1], "every index is back"
    assert _indexes_and_keys(fresh_db_url, "parcels") == definitions, "indexes, keys and checks as before"
    with psycopg.connect(fresh_db_url) as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO parcels (code, name_vi, geom) SELECT code, name_vi, geom FROM parcels LIMIT 1")


@pytest.mark.parametrize(("options", "parameter", "expected"), [
    ({"mode": "upsert", "key": "nope"}, "key", "--key 'nope' is not a column of parcels; its columns: code, "),
    ({"key": "props"}, "key", "--key 'props' is not a column"),
    ({"set_values": {"nope": "x"}}, "set", "--set nope=…: parcels has no column 'nope'"),
    ({"layer": "projects", "set_values": {"category": "spaceport"}}, "set",
     "--set category='spaceport': must be one of expressway, "),
    ({"field_map": {"missing": "code"}}, "map", "--map missing=code: the source has no field 'missing'"),
    ({"crs": "EPSG:0"}, "crs", "--crs 'EPSG:0' is not a CRS PROJ knows"),
])
def test_bad_options_are_domain_errors_naming_the_option(fresh_db_url: str, tmp_path: Path, options: dict,
                                                         parameter: str, expected: str) -> None:
    """Refused before anything is staged (a wrong --key used to surface as a bare ValueError after the COPY)."""
    path = shapefile(tmp_path / "p.shp", squares(3), ["a", "b", "c"], cpg="UTF-8")
    before = snapshot(fresh_db_url, "parcels")
    with pytest.raises(LoadError) as error:
        load(fresh_db_url, path, LoadOptions(**{"layer": "parcels", **options}))
    assert isinstance(error.value, SpatialInputError)
    assert error.value.parameter == parameter
    assert expected in str(error.value)
    assert snapshot(fresh_db_url, "parcels") == before


@pytest.mark.parametrize("broken", ["missing_shx", "truncated_shp", "not_a_zip", "zip_slip", "bad_wkt"])
def test_broken_inputs_are_clear_errors_and_change_nothing(fresh_db_url: str, tmp_path: Path,
                                                           broken: str) -> None:
    good = shapefile(tmp_path / "good.shp", squares(3), ["a", "b", "c"], cpg="UTF-8")
    if broken == "missing_shx":
        good.with_suffix(".shx").unlink()
        path, expected = good, ".shx file is missing"
    elif broken == "truncated_shp":
        data = good.read_bytes()
        good.write_bytes(data[: len(data) - 60])
        path, expected = good, "truncated"
    elif broken == "not_a_zip":
        path = tmp_path / "data.zip"
        path.write_bytes(b"this is not a zip archive at all")
        expected = "not a readable zip"
    elif broken == "zip_slip":
        path = tmp_path / "evil.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.write(good, "../../good.shp")
        expected = "unsafe path"
    else:
        path = tmp_path / "bad.csv"
        path.write_text('code,wkt\nA,"POLYGON ((106 10.6, 106.1 10.6, 106.1 10.7, 106 10.6))"\n'
                        'B,"POLYGON ((106 10.6, 106.1"\n')
        expected = "row 2: column 'wkt' is not valid WKT"
    before = snapshot(fresh_db_url, "parcels")
    with pytest.raises(LoadError, match=expected):
        load(fresh_db_url, path, LoadOptions(layer="parcels"))
    assert snapshot(fresh_db_url, "parcels") == before
    assert not (tmp_path.parent / "good.shp").exists()


def test_constraint_violation_rolls_back_everything(fresh_db_url: str, tmp_path: Path) -> None:
    path = shapefile(tmp_path / "z.shp", squares(2), ["a", "b"], cpg="UTF-8", extra={"loai": ["urban", "nope"]})
    before = snapshot(fresh_db_url, "zones")
    with pytest.raises(psycopg.errors.CheckViolation):
        load(fresh_db_url, path, LoadOptions(layer="zones"))
    assert snapshot(fresh_db_url, "zones") == before
