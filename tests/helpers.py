"""Helpers shared by test modules. Test modules import from here, never from `conftest.py` (pytest's own
file, for fixtures) nor from one another."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
from psycopg.conninfo import conninfo_to_dict
from pyproj import Transformer
from pyproj.transformer import TransformerGroup

from spatial.embedded import EmbeddedCluster
from spatial.settings import PROJECT_ROOT, Settings

BUNDLED_DATA = PROJECT_ROOT / "data" / "geojson"
PROBLEM = "application/problem+json"


def committed_instant(conn: psycopg.Connection, pause_s: float = 0.005) -> datetime:
    """Commit what `conn` did, read the server's clock, and let a moment pass: an instant after every change made so
    far and before any made next (versions of separate transactions start at separate instants)."""
    conn.commit()
    value = conn.execute("SELECT clock_timestamp()").fetchone()[0]
    conn.commit()
    time.sleep(pause_s)
    return value


def make_settings(url: str, tmp: Path | None = None, **overrides: object) -> Settings:
    """Settings for an app on the database `url` (data folder `tmp`, when given). Every test client signs in from
    one address, so the failed sign-in limit is raised out of the way of tests that send bad tokens on purpose
    (tests/app/test_signin.py sets its own)."""
    values: dict[str, object] = {"database_url": url, "signin_max_failures": 1_000_000}
    if tmp is not None:
        values["data_dir"] = tmp
    values.update(overrides)
    return Settings(**values)


def app_url_of(cluster: EmbeddedCluster, owner_url: str) -> str:
    """The same database of `cluster` as the server's login (lapis_app) instead of the owner."""
    return cluster.app_url(int(conninfo_to_dict(owner_url)["port"]), conninfo_to_dict(owner_url)["dbname"])


def assert_problem(response: Any, status: int, parameter: str | None = None) -> dict[str, Any]:
    """The response is a problem+json of `status` (naming `parameter`, when given); returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    if parameter is not None:
        assert body["parameter"] == parameter, body
    return body


def transformer(source: str, target: str) -> Transformer:
    """pyproj's transformer; for VN-2000 the EPSG:6960 one ("VN-2000 to WGS 84 (2)"), which LAPIS pins.
    (Left to choose, PROJ takes EPSG:5194 "(1)" inside Long An, about 0.8 m away.)"""
    group = TransformerGroup(source, target, always_xy=True)
    pinned = [t for t in group.transformers if "VN-2000 to WGS 84 (2)" in t.description]
    return pinned[0] if pinned else Transformer.from_crs(source, target, always_xy=True)


def snapshot(url: str, layer: str) -> tuple:
    """Everything a failed load must leave as it was: rows, their content and the layer's version."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT count(*), coalesce(sum(hashtext(code || name_vi || ST_AsText(geom) || props::text)), 0), "  # noqa: S608
            f"max(updated_at) FROM {layer}").fetchone()
        version = conn.execute("SELECT version FROM layer_versions WHERE layer = %s", (layer,)).fetchone()
        indexes = conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = %s", (layer,)).fetchone()
    return (*rows, version, indexes)


def run(url: str, work: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    """`work` on one asyncpg connection to `url`, from synchronous test code."""
    async def go() -> Any:
        conn = await asyncpg.connect(url)
        try:
            return await work(conn)
        finally:
            await conn.close()
    return asyncio.run(go())


@contextmanager
def serve_in_thread(app: Any, timeout: float = 30) -> Iterator[str]:
    """`app` served by a real uvicorn on a free port of 127.0.0.1 (for clients that need real HTTP); its URL."""
    import threading
    import time
    import urllib.request

    import uvicorn

    from spatial.embedded import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def classified_rows(frame: Any) -> list[dict[str, Any]]:
    """`/classify`'s answers per parcel from a classified frame (lapis_shares parsed), or from a GeoJSON response's
    features (a list of dicts)."""
    import json
    import math

    rows = []
    records = frame if isinstance(frame, list) else frame.to_dict("records")
    for record in records:
        props = record.get("properties", record)
        shares = props["lapis_shares"]
        share = props["lapis_region_share_pct"]
        rows.append({
            "admin": props["lapis_admin_code"] or None, "region": props["lapis_region_code"] or None,
            "centre": props["lapis_centre"] or None, "corridors": props["lapis_corridors"] or None,
            "region_share": None if share is None or (isinstance(share, float) and math.isnan(share)) else float(share),
            "shares": {k: float(v) for k, v in
                       (json.loads(shares) if isinstance(shares, str) else shares or {}).items()},
        })
    for row in rows:  # pandas' missing values (pd.NA) as None
        for key in ("admin", "region", "centre", "corridors"):
            if row[key] is not None and not isinstance(row[key], str):
                row[key] = None
    return rows


def assert_same_classification(got: list[dict[str, Any]], expected: list[dict[str, Any]],
                               tolerance_pct: float = 0.01) -> None:
    """Same district, region, centre and corridor codes for every parcel; every share within `tolerance_pct`
    percentage points (a share missing on one side counts as 0: a sliver under the 2-decimal rounding)."""
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected, strict=True)):
        for key in ("admin", "region", "centre", "corridors"):
            assert a[key] == b[key], (i, key, a, b)
        if b["region_share"] is None:
            assert a["region_share"] is None, (i, a, b)
        else:
            assert abs(a["region_share"] - b["region_share"]) <= tolerance_pct + 1e-9, (i, a, b)
        for code in a["shares"].keys() | b["shares"].keys():
            assert abs(a["shares"].get(code, 0.0) - b["shares"].get(code, 0.0)) <= tolerance_pct + 1e-9, (i, code, a, b)


def assert_png_not_blank(data: bytes, min_width: int = 300) -> None:
    """A PNG image of some size with real content: many colours, and a good part of it not background."""
    import io

    import numpy as np
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.width >= min_width and image.height >= 150, image.size
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    background = np.all(pixels == pixels[0], axis=1)  # the corner's colour
    assert background.mean() < 0.97, f"{background.mean():.1%} of the image is background"
    assert len(np.unique(pixels, axis=0)) > 50  # drawn content (text, bars, antialiasing), not a flat fill


def wait_for_js(page: Any, expression: str, timeout: float = 30_000) -> Any:
    """Playwright's `page.wait_for_function`, polled from outside the page. wait_for_function runs its predicate
    with eval() inside the page, which the pages' Content-Security-Policy (no 'unsafe-eval') rightly forbids;
    `page.evaluate` goes through the DevTools protocol, which the policy does not govern."""
    deadline = time.monotonic() + timeout / 1000
    while not (value := page.evaluate(expression)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{expression!r} still false after {timeout:.0f} ms")
        page.wait_for_timeout(100)
    return value
