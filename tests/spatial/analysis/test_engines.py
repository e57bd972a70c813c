"""Classification at scale: `/classify`, the local engine and the Dask engine (a LocalCluster of two process workers,
as a multi-machine cluster runs it) give the same answers on the same parcels — 10,000 of them, a fifth astride
district or region boundaries, and a VN-2000 copy — the same district, region, centre and corridor codes, every
share within 0.01 percentage points; the engines stream GeoParquet datasets in and out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from spatial.analysis import classify_file
from spatial.io.geoparquet import write_frame, write_frame_dataset
from spatial.synthetic import synthetic_parcels
from tests.helpers import assert_same_classification, classified_rows

N = 10_000
VN2000_N = 2_000
VN2000 = "http://www.opengis.net/def/crs/EPSG/0/9210"


@pytest.fixture(scope="module")
def parcels() -> gpd.GeoDataFrame:
    return synthetic_parcels(N, seed=2030, edge_share=0.2)[["code", "name_vi", "land_use", "area_m2", "geometry"]]


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        yield cluster


def served(client: TestClient, frame: gpd.GeoDataFrame, crs: str | None = None) -> dict[str, dict[str, Any]]:
    """`POST /classify`'s answers by parcel code: the reference."""
    response = client.post("/classify" + (f"?crs={crs}" if crs else ""), json=json.loads(frame.to_json()))
    assert response.status_code == 200, response.text
    features = response.json()["features"]
    return dict(zip((f["properties"]["code"] for f in features), classified_rows(features), strict=True))


def dataset_rows(folder: Path) -> dict[str, dict[str, Any]]:
    frame = pd.concat([gpd.read_parquet(p) for p in sorted(folder.glob("part-*.parquet"))], ignore_index=True)
    assert frame.code.is_unique and frame.crs.to_epsg() == 4326
    return dict(zip(frame.code, classified_rows(frame), strict=True))


def same(got: dict[str, dict[str, Any]], expected: dict[str, dict[str, Any]]) -> None:
    assert set(got) == set(expected)
    codes = sorted(expected)
    assert_same_classification([got[c] for c in codes], [expected[c] for c in codes])


@pytest.fixture(scope="module")
def reference(client: TestClient, parcels: gpd.GeoDataFrame) -> dict[str, dict[str, Any]]:
    answers = served(client, parcels)
    edges = sum(1 for r in answers.values() if r["region_share"] is not None and r["region_share"] < 100)
    districts = sum(1 for r in answers.values() if r["admin"] is not None and r["shares"].get(r["admin"], 0) < 100)
    assert edges > 300 and districts > 600  # parcels astride region and district boundaries are really there
    return answers


def test_local_and_dask_engines_match_classify(db_url: str, tmp_path: Path, parcels: gpd.GeoDataFrame,
                                               reference: dict[str, dict[str, Any]], dask_cluster: Any) -> None:
    source = tmp_path / "parcels"
    write_frame_dataset(parcels, source, partitions=4, row_group=1_000)  # 4 files × 3 row groups
    local = classify_file(source, tmp_path / "local", "local", url=db_url)
    assert local.rows == N
    same(dataset_rows(tmp_path / "local"), reference)
    on_dask = classify_file(source, tmp_path / "dask", "dask", url=db_url, scheduler=dask_cluster.scheduler_address)
    assert on_dask.rows == N and on_dask.workers == 2
    assert on_dask.partitions == 4  # one task per file here: row groups merged up to 100,000 parcels a task
    same(dataset_rows(tmp_path / "dask"), reference)
    first = gpd.read_parquet(tmp_path / "dask" / "part-00000.parquet")
    assert "Thửa đất số" in first.name_vi.iloc[0] and {"land_use", "area_m2"} <= set(first.columns)


def test_vn2000_input_on_every_engine(client: TestClient, db_url: str, tmp_path: Path, parcels: gpd.GeoDataFrame,
                                      dask_cluster: Any) -> None:
    vn2000 = parcels.iloc[:VN2000_N].to_crs(9210)
    expected = served(client, vn2000, VN2000)
    path = tmp_path / "thua_dat_vn2000.parquet"
    write_frame(vn2000, path, row_group=500)
    assert gpd.read_parquet(path).crs.to_epsg() == 9210
    classify_file(path, tmp_path / "local", "local", url=db_url, partitions=3)
    assert len(list((tmp_path / "local").glob("part-*.parquet"))) == 3
    same(dataset_rows(tmp_path / "local"), expected)
    report = classify_file(path, tmp_path / "dask", "dask", url=db_url, scheduler=dask_cluster.scheduler_address,
                           partitions=3)
    assert report.partitions == 3
    same(dataset_rows(tmp_path / "dask"), expected)


def test_cli_classify(db_url: str, tmp_path: Path, parcels: gpd.GeoDataFrame,
                      reference: dict[str, dict[str, Any]], dask_cluster: Any) -> None:
    sample = parcels.iloc[:1_500]
    path = tmp_path / "sample.gpkg"
    sample.to_file(path, driver="GPKG")
    runner, env = CliRunner(), {"DATABASE_URL": db_url}
    result = runner.invoke(cli, ["classify", str(path), str(tmp_path / "out"), "--partitions", "2"], env=env)
    assert result.exit_code == 0, result.output
    assert "classified 1,500 parcels with the local engine" in " ".join(result.output.split())
    got = dataset_rows(tmp_path / "out")
    same(got, {c: reference[c] for c in got})
    parquet = tmp_path / "sample.parquet"
    write_frame(sample, parquet, row_group=500)
    result = runner.invoke(cli, ["classify", str(parquet), str(tmp_path / "out_dask"), "--engine", "dask",
                                 "--scheduler", dask_cluster.scheduler_address], env=env)
    assert result.exit_code == 0, result.output
    assert sum(pq.ParquetFile(p).metadata.num_rows for p in (tmp_path / "out_dask").iterdir()) == 1_500
    result = runner.invoke(cli, ["classify", str(path), str(tmp_path / "x"), "--engine", "dask",
                                 "--scheduler", dask_cluster.scheduler_address], env=env)
    assert result.exit_code == 1 and "reads GeoParquet" in " ".join(result.output.split())
    result = runner.invoke(cli, ["classify", str(path), str(tmp_path / "x"), "--engine", "spark"], env=env)
    assert result.exit_code == 2


def test_in_memory_dask_engine(db_url: str, parcels: gpd.GeoDataFrame, reference: dict[str, dict[str, Any]],
                               dask_cluster: Any) -> None:
    from spatial.analysis import classify

    sample = parcels.iloc[:2_000]
    result = classify(sample, "dask", url=db_url, scheduler=dask_cluster.scheduler_address, partitions=4)
    assert list(result.code) == list(sample.code)  # input order kept
    same(dict(zip(result.code, classified_rows(result), strict=True)),
         {c: reference[c] for c in sample.code})
