"""Editing against a real server (uvicorn on a port, a database of this module's own): concurrent writers with the
same ETag, and clients that are not LAPIS's own — httpx for Part 4 writes, GDAL reading what was published."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from spatial.identity.model import Role
from tests.edit_fixtures import MERGE_PATCH, zone
from tests.helpers import make_settings, serve_in_thread
from tests.identity_fixtures import bearer, token_for


@pytest.fixture(scope="module")
def live(make_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(server URL, database URL)."""
    url = make_database()
    with serve_in_thread(create_app(make_settings(url, tmp_path_factory.mktemp("edit-live")))) as base:
        yield base, url


def _patch(base: str, path: str, auth: dict[str, str], etag: str, body: dict) -> int:
    response = httpx.patch(f"{base}{path}", content=json.dumps(body),
                           headers={**auth, "If-Match": etag, "Content-Type": MERGE_PATCH}, timeout=60)
    return response.status_code


def _race(base: str, path: str, auths: list[dict[str, str]]) -> list[int]:
    """Two PATCHes of one feature with the same ETag, started together from two threads."""
    etag = httpx.get(f"{base}{path}").headers["etag"]
    barrier = threading.Barrier(len(auths))
    statuses: list[int] = []

    def go(i: int, auth: dict[str, str]) -> None:
        barrier.wait()
        statuses.append(_patch(base, path, auth, etag, {"properties": {"name_en": f"writer {i}"}}))

    threads = [threading.Thread(target=go, args=(i, auth)) for i, auth in enumerate(auths)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(statuses)


def test_two_concurrent_patches_with_one_etag_exactly_one_succeeds(live: tuple[str, str]) -> None:
    base, url = live
    lan, minh = bearer(token_for(url, Role.editor)), bearer(token_for(url, Role.editor))
    for feature in range(1, 5):  # two editors: the loser finds the feature held by the winner's proposal
        assert _race(base, f"/collections/projects/items/{feature}", [lan, minh]) == [200, 409]
    for feature in range(5, 9):  # one editor twice: the loser's ETag is no longer the feature's version
        assert _race(base, f"/collections/projects/items/{feature}", [lan, lan]) == [200, 412]

    async def together(path: str) -> list[int]:
        etag = httpx.get(f"{base}{path}").headers["etag"]
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            replies = await asyncio.gather(*(client.patch(path, content=b'{"properties": {"roads": "QL62"}}', headers={
                **auth, "If-Match": etag, "Content-Type": MERGE_PATCH}) for auth in (lan, minh)))
        return sorted(r.status_code for r in replies)

    assert asyncio.run(together("/collections/axes/items/2")) == [200, 409]


def test_an_independent_http_client_creates_updates_and_deletes(live: tuple[str, str], tmp_path: Path) -> None:
    """httpx, knowing only the API: create, read the preview, update, replace, delete, and — once an approver has
    published — every anonymous reader sees the result. (GDAL's OAPIF driver cannot be that client here: see
    `test_gdal_reads_what_was_published`.)"""
    base, url = live
    editor, approver = bearer(token_for(url, Role.editor)), bearer(token_for(url, Role.approver))
    with httpx.Client(base_url=base, timeout=60) as client:
        created = client.post("/collections/zones/items", json=zone("Z-HTTPX", lon=106.25, lat=10.75),
                              headers=editor)
        assert created.status_code == 201, created.text
        location, proposal = created.headers["location"], created.headers["lapis-proposal"]
        etag = client.get(location, params={"proposal": proposal}, headers=editor).headers["etag"]
        assert etag == created.headers["etag"]
        updated = client.patch(location, content=b'{"properties": {"name_en": "Made by httpx"}}',
                               headers={**editor, "If-Match": etag, "Content-Type": MERGE_PATCH})
        assert updated.status_code == 200 and updated.json()["properties"]["name_en"] == "Made by httpx"
        replaced = dict(updated.json(), properties={**updated.json()["properties"], "kind": "tourism"})
        put = client.put(location, json=replaced, headers={**editor, "If-Match": updated.headers["etag"]})
        assert put.status_code == 200 and put.json()["properties"]["kind"] == "tourism"
        corridor = client.get("/collections/corridors/items/2")
        gone = client.delete("/collections/corridors/items/2", headers={**editor, "If-Match": corridor.headers["etag"]})
        assert gone.status_code == 204
        assert client.get("/collections/corridors/items/2").status_code == 200  # until published
        assert client.post(f"/proposals/{proposal}/publish", headers=approver).status_code == 200
        assert client.get(location).json()["properties"]["kind"] == "tourism"
        assert client.get("/collections/corridors/items/2").status_code == 404


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is not installed")
def test_gdal_reads_what_was_published(live: tuple[str, str], tmp_path: Path) -> None:
    """GDAL's OAPIF driver as an independent client. Debian 12's GDAL 3.6.2 builds it read-only (`ogrinfo --formats`
    lists `OAPIF -vector- (ro)`; it has no Part 4 write support), so it cannot create, update or delete through
    Part 4 here — `ogr2ogr -append` into it is refused — and the writes are shown with httpx
    (`test_an_independent_http_client_creates_updates_and_deletes`). GDAL does read what an approver published."""
    base, url = live
    formats = subprocess.run(["ogrinfo", "--formats"], capture_output=True, text=True, check=True).stdout
    assert "OAPIF -vector- (ro)" in formats
    source = tmp_path / "new.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": [zone("Z-GDAL", lon=106.2, lat=10.8)]}))
    refused = subprocess.run(["ogr2ogr", "-update", "-append", f"OAPIF:{base}", str(source), "-nln", "zones"],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "Unable to open existing output datasource" in refused.stderr
    editor, approver = bearer(token_for(url, Role.editor)), bearer(token_for(url, Role.approver))
    created = httpx.post(f"{base}/collections/zones/items", json=zone("Z-GDAL", lon=106.2, lat=10.8), headers=editor)
    assert created.status_code == 201
    target = tmp_path / "zones.geojson"
    read = ["ogr2ogr", "-f", "GeoJSON", str(target), f"OAPIF:{base}", "zones", "-where", "code = 'Z-GDAL'"]
    subprocess.run(read, capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(target.read_text())["features"] == []
    assert httpx.post(f"{base}/proposals/{created.headers['lapis-proposal']}/publish",
                      headers=approver).status_code == 200
    target.unlink()
    subprocess.run(read, capture_output=True, text=True, timeout=120, check=True)
    assert [f["properties"]["name_vi"] for f in json.loads(target.read_text())["features"]] == ["Khu Z-GDAL"]
