from __future__ import annotations

import pytest

from spatial.crs import CRS84, EPSG_URI, check_in_range, parse_crs
from spatial.errors import InvalidParameter


@pytest.mark.parametrize("text", [None, "", CRS84, "CRS84", "[OGC:CRS84]", "urn:ogc:def:crs:OGC:1.3:CRS84"])
def test_crs84_spellings(text: str | None) -> None:
    assert parse_crs(text).uri == CRS84


@pytest.mark.parametrize("code", [4326, 3857, 3405, 9210])
def test_epsg_spellings(code: int) -> None:
    for text in (EPSG_URI.format(code), f"EPSG:{code}", f"[EPSG:{code}]", f"urn:ogc:def:crs:EPSG::{code}"):
        assert parse_crs(text).code == code


def test_unknown_crs_names_the_parameter() -> None:
    with pytest.raises(InvalidParameter) as error:
        parse_crs("EPSG:27700", "bbox-crs")
    assert error.value.parameter == "bbox-crs" and "EPSG:27700" in error.value.detail


def test_ranges() -> None:
    vn = parse_crs("EPSG:9210")
    check_in_range(vn, [574_000.0], [1_164_000.0], "x")  # Long An
    with pytest.raises(InvalidParameter):
        check_in_range(vn, [0.0], [0.0], "x")
    latlon = parse_crs("EPSG:4326")
    check_in_range(latlon, [10.5], [106.4], "bbox")  # lat, lon
    with pytest.raises(InvalidParameter):
        check_in_range(latlon, [106.4], [10.5], "bbox")  # lon first is out of range for latitude
