"""Real clients against a real server: GDAL's OAPIF driver (Debian gdal-bin), OWSLib, schemathesis."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from spatial.layers import LAYERS

pytestmark = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is not installed")


def _counts(url: str) -> dict[str, int]:
    return {layer["id"]: layer["count"] for layer in httpx.get(f"{url}/").json()["layers"]}


def test_gdal_ogrinfo_lists_every_collection(live_server_url: str) -> None:
    out = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{live_server_url}"], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    for layer_id in LAYERS:
        assert layer_id in out


def test_gdal_reads_every_collection_completely(live_server_url: str, tmp_path: Path) -> None:
    counts = _counts(live_server_url)
    for layer_id in LAYERS:
        target = tmp_path / f"{layer_id}.geojson"
        # a small page size makes GDAL follow many next links
        subprocess.run(["ogr2ogr", "-f", "GeoJSON", str(target), f"OAPIF:{live_server_url}", layer_id,
                        "-oo", "PAGE_SIZE=3"], capture_output=True, text=True, timeout=120, check=True)
        features = json.loads(target.read_text())["features"]
        assert len(features) == counts[layer_id], layer_id
        assert len({f["properties"].get("code") for f in features}) == counts[layer_id]
    zones = json.loads((tmp_path / "zones.geojson").read_text())["features"]
    assert "Vùng đô thị và công nghiệp" in {f["properties"]["name_vi"] for f in zones}


def test_gdal_applies_a_spatial_filter(live_server_url: str) -> None:
    out = subprocess.run(["ogrinfo", "-ro", "-al", "-so", f"OAPIF:{live_server_url}", "admin_units",
                          "-spat", "106.40", "10.53", "106.42", "10.54"], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "Feature Count: 2" in out


def test_owslib_lists_collections_and_items(live_server_url: str) -> None:
    from owslib.ogcapi.features import Features

    api = Features(live_server_url)
    ids = {c["id"] for c in api.collections()["collections"]}
    assert ids >= set(LAYERS)
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in api.conformance()["conformsTo"]
    items = api.collection_items("zones", limit=2)
    assert items["numberReturned"] == 2 and items["features"][0]["type"] == "Feature"
    regions = api.collection_items("zones", kind="region")
    assert {f["properties"]["code"] for f in regions["features"]} == {"R1", "R2", "R3"}
    assert api.collection_queryables("projects")["properties"]["category"]["type"] == "string"


def test_schemathesis_with_every_check_finds_nothing(live_server_url: str, tmp_path: Path) -> None:
    """No server error, and the API definition tells the truth: every status, media type, header and body schema of
    every answer, schema-invalid requests refused, methods and `Allow` headers (settings: schemathesis.toml)."""
    # one worker: CPython 3.11.7 ast.parse is not thread-safe (gh-106905) and hypothesis calls it
    st = shutil.which("schemathesis") or str(Path(__file__).resolve().parents[2] / ".venv/bin/schemathesis")
    config = Path(__file__).with_name("schemathesis.toml")
    result = subprocess.run(
        [st, "--config-file", str(config), "run", f"{live_server_url}/api", "--checks", "all",
         "--phases", "examples,coverage,fuzzing", "--max-examples", "25", "--workers", "1", "--seed", "1",
         "--suppress-health-check", "all"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failure" not in result.stdout.split("SUMMARY")[-1]
