"""spatial.features from Python (no server): keyset paging over many parcels, counts, bbox."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import orjson
import pytest

from spatial.crs import parse_crs
from spatial.features import ItemsRequest, fetch_items, parse_sortby
from spatial.layers import get_layer
from spatial.synthetic import load_parcels, synthetic_parcels

PARCELS = get_layer("parcels")


@pytest.fixture(scope="module")
def parcels_url(make_database: Any) -> str:
    url = make_database()
    load_parcels(url, synthetic_parcels(3000, seed=11))
    return url


def run(url: str, requests: list[ItemsRequest]) -> list[Any]:
    async def go() -> list[Any]:
        conn = await asyncpg.connect(url)
        try:
            return [await fetch_items(conn, r) for r in requests]
        finally:
            await conn.close()
    return asyncio.run(go())


def all_pages(url: str, **kwargs: Any) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(url)
        features: list[dict[str, Any]] = []
        cursor = None
        try:
            while True:
                page = await fetch_items(conn, ItemsRequest(PARCELS, cursor=cursor, **kwargs))
                features += orjson.loads(page.features_json())
                if not page.next_cursor:
                    return features
                cursor = page.next_cursor
        finally:
            await conn.close()
    return asyncio.run(go())


@pytest.mark.parametrize("sortby", ["", "-area_m2", "land_use,-code"])
def test_keyset_paging_covers_everything_once(parcels_url: str, sortby: str) -> None:
    paged = all_pages(parcels_url, limit=250, sortby=parse_sortby(PARCELS, sortby))
    whole = run(parcels_url, [ItemsRequest(PARCELS, limit=10_000, sortby=parse_sortby(PARCELS, sortby))])[0]
    assert [f["id"] for f in paged] == [f["id"] for f in orjson.loads(whole.features_json())]
    assert len(paged) == 3000 == whole.number_matched


def test_bbox_paging_equals_a_bbox_query(parcels_url: str) -> None:
    box = (106.2, 10.6, 106.6, 10.9)
    paged = all_pages(parcels_url, limit=37, bbox=box)
    whole = run(parcels_url, [ItemsRequest(PARCELS, limit=10_000, bbox=box)])[0]
    assert [f["id"] for f in paged] == [f["id"] for f in orjson.loads(whole.features_json())]
    assert 0 < len(paged) < 3000


def test_output_crs_and_property_selection(parcels_url: str) -> None:
    page = run(parcels_url, [ItemsRequest(PARCELS, limit=1, crs=parse_crs("EPSG:9210"),
                                          properties=("code",))])[0]
    feature = orjson.loads(page.features_json())[0]
    x, y = feature["geometry"]["coordinates"][0][0][0]
    assert 400_000 < x < 700_000 and 1_100_000 < y < 1_250_000
    assert list(feature["properties"]) == ["code"]


def test_number_matched_only_when_cheap_or_asked(parcels_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import spatial.features as features

    monkeypatch.setattr(features, "CHEAP_COUNT_ROWS", 100)  # pretend 3000 parcels is a big table
    plain, asked = run(parcels_url, [ItemsRequest(PARCELS, limit=5), ItemsRequest(PARCELS, limit=5, count=True)])
    assert plain.number_matched is None and asked.number_matched == 3000
