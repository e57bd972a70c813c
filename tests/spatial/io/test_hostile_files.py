"""Files a loader must refuse with a clear reason rather than store wrong or expand without bound: text with a NUL
character (GDAL would cut it short, PostgreSQL cannot store it) and zip archives past their limits."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from spatial.io.errors import LoadError
from spatial.io.loader import LoadOptions, load
from spatial.io.sources import ArchiveTooLarge, ZipLimits, safe_extract
from tests.helpers import snapshot

SQUARE = {"type": "Polygon", "coordinates": [[[106.40, 10.50], [106.41, 10.50], [106.41, 10.51], [106.40, 10.51],
                                              [106.40, 10.50]]]}


def geojson(path: Path, name: str) -> Path:
    feature = {"type": "Feature", "properties": {"code": "NUL-1", "name_vi": name}, "geometry": SQUARE}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def test_nul_in_geojson_text_is_refused_not_truncated(fresh_db_url: str, tmp_path: Path) -> None:
    before = snapshot(fresh_db_url, "parcels")
    with pytest.raises(LoadError, match=r"NUL character .*remove it"):
        load(fresh_db_url, geojson(tmp_path / "nul.geojson", "a\x00b"), LoadOptions(layer="parcels"))
    assert snapshot(fresh_db_url, "parcels") == before


def test_an_escaped_backslash_before_u0000_is_plain_text(fresh_db_url: str, tmp_path: Path) -> None:
    report = load(fresh_db_url, geojson(tmp_path / "text.geojson", "a\\u0000b"), LoadOptions(layer="parcels"))
    assert report.loaded == 1


def test_nul_in_csv_text_is_refused_naming_the_field(fresh_db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b'code,name_vi,wkt\nNUL-2,"a\x00b","POLYGON((106.4 10.5,106.41 10.5,106.41 10.51,106.4 10.5))"\n')
    with pytest.raises(LoadError, match=r"field 'name_vi' holds a NUL character"):
        load(fresh_db_url, path, LoadOptions(layer="parcels"))


def test_zip_ratio_is_checked_whatever_the_member_size(tmp_path: Path) -> None:
    archive = tmp_path / "small-bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.shp", bytes(500_000))  # under the 1 MiB the ratio used to start at; ~500x
    with pytest.raises(ArchiveTooLarge, match="allowed per member"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_zip_member_count_and_total_are_limited(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for i in range(12):
            zf.writestr(f"{i}.txt", b"x" * 1000)
    with pytest.raises(ArchiveTooLarge, match="12 members, more than the 10 allowed"):
        safe_extract(archive, tmp_path / "a", ZipLimits(max_members=10))
    with pytest.raises(ArchiveTooLarge, match="more than 5,000 bytes uncompressed"):
        safe_extract(archive, tmp_path / "b", ZipLimits(max_bytes=5_000))
    safe_extract(archive, tmp_path / "c", ZipLimits(max_members=12, max_bytes=12_000))
    assert len(list((tmp_path / "c").iterdir())) == 12
