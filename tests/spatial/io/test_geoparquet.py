"""GeoParquet in and out: `lapis export LAYER out.parquet` (GeoParquet 1.1: WKB, a bbox covering column, rows in
spatial order so row groups and files cover compact areas) and `lapis load` of a file or a partitioned dataset:
geometry (WKB-equal), attributes, Vietnamese text (NFC) and CRS survive the round trip."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import psycopg
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from app.cli import cli
from spatial.io import geoparquet
from spatial.io.export import export_layer
from spatial.io.loader import LoadOptions, load
from spatial.synthetic import load_parcels, synthetic_parcels

N = 3000
ROWS = """SELECT code, name_vi, name_en, source, accuracy, land_use, area_m2, props, ST_AsBinary(geom)
          FROM parcels ORDER BY code"""


@pytest.fixture(scope="module")
def parcels_db(make_database: Callable[[], str]) -> str:
    """A database whose parcels have Vietnamese names, English names on some, and an extra field kept in `props`."""
    frame = synthetic_parcels(N, seed=21, edge_share=0.1)
    frame["name_vi"] = "Thửa đất ở Đức Hòa số " + frame.code.str[-4:]
    frame["name_en"] = np.where(np.arange(N) % 2 == 0, "Parcel " + frame.code, None)
    frame["chu_su_dung"] = "Nguyễn Văn Ấn"
    url = make_database()
    load_parcels(url, frame)
    return url


def rows(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return [(*r[:-1], bytes(r[-1])) for r in conn.execute(ROWS).fetchall()]


def geo(path: Path) -> dict[str, Any]:
    return json.loads(pq.read_schema(path).metadata[b"geo"])


def test_export_is_geoparquet_1_1(parcels_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(geoparquet, "ROW_GROUP", 250)  # many row groups from a small layer
    out = tmp_path / "thua_dat.parquet"
    report = export_layer(parcels_db, "parcels", out)
    assert report.features == N and report.driver == "GeoParquet"
    meta = geo(out)
    column = meta["columns"]["geometry"]
    assert meta["version"] == "1.1.0" and meta["primary_column"] == "geometry"
    assert column["encoding"] == "WKB" and column["geometry_types"] == ["MultiPolygon"]
    assert column["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
    assert column["crs"]["id"] == {"authority": "EPSG", "code": 4326}
    frame = gpd.read_parquet(out)
    assert np.allclose(column["bbox"], frame.total_bounds)
    covering = pq.read_table(out, columns=["bbox"]).column("bbox").combine_chunks()
    boxes = np.column_stack([covering.field(k).to_numpy() for k in ("xmin", "ymin", "xmax", "ymax")])
    assert np.array_equal(boxes, frame.geometry.bounds.to_numpy())  # geopandas reads past the covering column

    metadata = pq.ParquetFile(out).metadata
    assert metadata.num_row_groups == N // 250
    boxes = np.array([[next(rg.column(j).statistics for j in range(rg.num_columns)
                            if rg.column(j).path_in_schema == f"bbox.{k}").__getattribute__(m)
                       for k, m in (("xmin", "min"), ("ymin", "min"), ("xmax", "max"), ("ymax", "max"))]
                      for rg in (metadata.row_group(i) for i in range(metadata.num_row_groups))])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    total = np.prod(frame.total_bounds[2:] - frame.total_bounds[:2])
    # geohash (Z) order: a row group covers a small part of the province (in random order each would span it all;
    # twelve equal tiles would be 8 % each, Z-order's jumps make some larger)
    assert np.median(areas) < 0.25 * total
    query = (106.40, 10.52, 106.44, 10.56)  # around Tân An
    hit = (boxes[:, 0] <= query[2]) & (boxes[:, 2] >= query[0]) & (boxes[:, 1] <= query[3]) & (boxes[:, 3] >= query[1])
    assert hit.sum() <= metadata.num_row_groups // 3  # a reader with this box skips most row groups
    inside = gpd.read_parquet(out, bbox=query)
    b = frame.geometry.bounds
    expected = frame[(b.minx <= query[2]) & (b.maxx >= query[0]) & (b.miny <= query[3]) & (b.maxy >= query[1])]
    assert 0 < len(inside) < N and set(inside.code) == set(expected.code)


def test_round_trip_keeps_geometry_text_attributes(parcels_db: str, make_database: Callable[[], str],
                                                   tmp_path: Path) -> None:
    out = tmp_path / "parcels.parquet"
    export_layer(parcels_db, "parcels", out)
    target = make_database()
    report = load(target, out, LoadOptions(layer="parcels", mode="replace"))
    assert report.loaded == N and report.rejected == 0 and report.repaired == 0
    before, after = rows(parcels_db), rows(target)
    assert after == before  # WKB-equal geometry, the same attributes and props
    names = [r[1] for r in after]
    assert all(unicodedata.is_normalized("NFC", n) for n in names) and any("Đức Hòa" in n for n in names)
    assert after[0][7] == {"chu_su_dung": "Nguyễn Văn Ấn"}


def test_vn2000_export_keeps_its_crs(parcels_db: str, make_database: Callable[[], str], tmp_path: Path) -> None:
    out = tmp_path / "parcels_vn2000.parquet"
    report = export_layer(parcels_db, "parcels", out, crs="EPSG:9210")
    assert report.crs == "EPSG:9210"
    frame = gpd.read_parquet(out)
    assert frame.crs.to_epsg() == 9210 and 470_000 < frame.total_bounds[0] < 610_000  # metres, Long An
    target = make_database()
    loaded = load(target, out, LoadOptions(layer="parcels", mode="replace"))
    assert "VN-2000" in loaded.sources[0].crs_in and "VN-2000 to WGS 84 (2)" in str(loaded.sources[0].transformation)
    with psycopg.connect(target) as conn:
        back = dict(conn.execute("SELECT code, ST_AsBinary(geom) FROM parcels").fetchall())
    original = {r[0]: r[-1] for r in rows(parcels_db)}
    codes = sorted(original)
    a = shapely.from_wkb([original[c] for c in codes])
    b = shapely.from_wkb([bytes(back[c]) for c in codes])
    assert np.max(shapely.hausdorff_distance(a, b)) < 1e-8  # VN-2000 and back through EPSG:6960: under 1 mm


def test_partitioned_dataset_both_ways(parcels_db: str, make_database: Callable[[], str], tmp_path: Path) -> None:
    import dask_geopandas

    folder = tmp_path / "parcels_ds"
    report = export_layer(parcels_db, "parcels", folder, partitions=4)
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == [geoparquet.part_name(i) for i in range(4)] and report.features == N
    assert sum(pq.ParquetFile(f).metadata.num_rows for f in files) == N
    assert all(geo(f)["version"] == "1.1.0" for f in files)
    lazy = dask_geopandas.read_parquet(folder)
    assert lazy.npartitions == 4 and lazy.spatial_partitions is not None
    # each file a run of the spatial order: together their extents overlap far less than four random quarters
    b = lazy.spatial_partitions.bounds
    extents = ((b.maxx - b.minx) * (b.maxy - b.miny)).sum()
    assert extents < 3 * (b.maxx.max() - b.minx.min()) * (b.maxy.max() - b.miny.min())
    target = make_database()
    loaded = load(target, folder, LoadOptions(layer="parcels", mode="replace"))
    assert loaded.loaded == N and len(loaded.sources) == 1
    assert rows(target) == rows(parcels_db)
    assert len(ds.dataset(folder).to_table()) == N


def test_load_geoparquet_written_elsewhere(db_url: str, make_database: Callable[[], str], tmp_path: Path) -> None:
    """A GeoParquet file from another tool (geopandas): VN-2000 CRS in its metadata, text decomposed (NFD) — loaded
    in EPSG:4326 through EPSG:6960, text stored NFC."""
    frame = synthetic_parcels(50, seed=3)[["code", "land_use", "geometry"]].to_crs(9210)
    frame["ten"] = [unicodedata.normalize("NFD", f"Thửa số {i} ấp Bình Hòa") for i in range(50)]
    path = tmp_path / "from_elsewhere.parquet"
    frame.to_parquet(path)
    target = make_database()
    report = load(target, path, LoadOptions(layer="parcels", mode="replace"))
    assert report.loaded == 50 and report.sources[0].crs_in.startswith("EPSG:9210")
    with psycopg.connect(target) as conn:
        names = [r[0] for r in conn.execute("SELECT name_vi FROM parcels ORDER BY code")]
        extent = conn.execute("SELECT ST_Extent(geom)::text FROM parcels").fetchone()[0]
    assert names[3] == unicodedata.normalize("NFC", "Thửa số 3 ấp Bình Hòa")
    assert extent.startswith("BOX(105.") or extent.startswith("BOX(106.")


def test_cli_export_and_load_geoparquet(parcels_db: str, make_database: Callable[[], str], tmp_path: Path) -> None:
    runner = CliRunner()
    folder = tmp_path / "cli_ds"
    result = runner.invoke(cli, ["export", "parcels", str(folder), "--partitions", "3", "--crs", "EPSG:9210"],
                           env={"DATABASE_URL": parcels_db})
    assert result.exit_code == 0, result.output
    assert "GeoParquet dataset, 3 files" in " ".join(result.output.split())
    target = make_database()
    result = runner.invoke(cli, ["load", str(folder), "--layer", "parcels", "--mode", "replace"],
                           env={"DATABASE_URL": target})
    assert result.exit_code == 0, result.output
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM parcels").fetchone()[0] == N


def test_export_refuses_a_layer_without_geometry(db_url: str, tmp_path: Path) -> None:
    from spatial.io.errors import LoadError

    with pytest.raises(LoadError, match="no geometry"):
        export_layer(db_url, "use_rules", tmp_path / "rules.parquet")


def test_geopandas_and_gdal_read_the_export(parcels_db: str, tmp_path: Path) -> None:
    out = tmp_path / "parcels.parquet"
    export_layer(parcels_db, "parcels", out)
    frame = gpd.read_parquet(out)
    assert len(frame) == N and frame.crs.to_epsg() == 4326 and frame.geometry.is_valid.all()
    if "Parquet" not in pyogrio.list_drivers():
        pytest.skip(f"this GDAL ({pyogrio.__gdal_version_string__}) has no Parquet driver; geopandas read it above")
    gdal = pyogrio.read_dataframe(out)
    assert len(gdal) == N and gdal.crs.to_epsg() == 4326
    assert gdal.sort_values("code").geometry.to_wkb().tolist() == frame.sort_values("code").geometry.to_wkb().tolist()
