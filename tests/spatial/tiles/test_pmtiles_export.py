"""PMTiles export round trip: the archive opens with the pmtiles reader and holds exactly the served tiles."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType
from typer.testing import CliRunner

from app.cli import cli
from spatial.tiles.pmtiles_export import export_pmtiles


def test_export_round_trip_equals_served_tiles(db_url: str, client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "plan.pmtiles"
    seen = []
    result = export_pmtiles(db_url, path, minzoom=0, maxzoom=11, progress=lambda d, t: seen.append((d, t)))
    assert result.written > 20 and seen[-1] == (result.planned, result.planned)
    with path.open("rb") as f:
        reader = Reader(MmapSource(f))
        header = reader.header()
        assert header["tile_type"] == TileType.MVT and header["tile_compression"] == Compression.GZIP
        # at z0–z1 the whole province is under a display pixel: those tiles are empty and left out
        assert header["min_zoom"] <= 4 and header["max_zoom"] == 11
        assert 105 < header["min_lon_e7"] / 1e7 < header["max_lon_e7"] / 1e7 < 107.5
        meta = reader.metadata()
        assert {v["id"] for v in meta["vector_layers"]} >= {"zones", "axes", "projects"}
        tiles = list(all_tiles(reader.get_bytes))
        assert len(tiles) == result.written
        for (z, x, y), body in tiles:
            served = client.get(f"/tiles/WebMercatorQuad/{z}/{y}/{x}", headers={"Accept-Encoding": "identity"})
            assert served.status_code == 200, (z, x, y)
            assert gzip.decompress(body) == served.content, (z, x, y)
        z, x, y = tiles[-1][0]
        assert reader.get(z, x, y) == tiles[-1][1]


def test_export_subset(db_url: str, client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "axes.pmtiles"
    export_pmtiles(db_url, path, minzoom=8, maxzoom=9, collections=["axes"])
    with path.open("rb") as f:
        reader = Reader(MmapSource(f))
        (z, x, y), body = next(iter(all_tiles(reader.get_bytes)))
        served = client.get(f"/tiles/WebMercatorQuad/{z}/{y}/{x}?collections=axes",
                            headers={"Accept-Encoding": "identity"})
        assert gzip.decompress(body) == served.content


def test_cli_export_and_errors(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()
    out = tmp_path / "cli.pmtiles"
    ok = runner.invoke(cli, ["tiles", "export", str(out), "--minzoom", "5", "--maxzoom", "8",
                             "--collections", "zones,axes"])
    assert ok.exit_code == 0, ok.output
    assert out.read_bytes()[:7] == b"PMTiles"
    bad = runner.invoke(cli, ["tiles", "export", str(tmp_path / "x.pmtiles"), "--collections", "zones,nope"])
    assert bad.exit_code == 2 and "nope" in bad.output
    assert not (tmp_path / "x.pmtiles").exists()
    backwards = runner.invoke(cli, ["tiles", "export", str(tmp_path / "y.pmtiles"), "--minzoom", "9",
                                    "--maxzoom", "3"])
    assert backwards.exit_code == 2


def test_server_serves_archive_with_ranges(db_url: str, client: TestClient) -> None:
    folder = client.app.state.services.settings.pmtiles_path
    export_pmtiles(db_url, folder / "served.pmtiles", minzoom=0, maxzoom=6)
    whole = client.get("/pmtiles/served.pmtiles")
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    part = client.get("/pmtiles/served.pmtiles", headers={"Range": "bytes=0-126"})
    assert part.status_code == 206 and part.content == whole.content[:127]
    assert part.content[:7] == b"PMTiles"
    assert client.get("/pmtiles/missing.pmtiles").status_code == 404
    assert client.get("/pmtiles/..%2Fsecret.pmtiles").status_code == 404
