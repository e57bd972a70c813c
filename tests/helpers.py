"""Helpers shared by test modules. Test modules import from here, never from `conftest.py` (pytest's own
file, for fixtures) nor from one another."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg
from pyproj import Transformer
from pyproj.transformer import TransformerGroup

from spatial.settings import PROJECT_ROOT, Settings

BUNDLED_DATA = PROJECT_ROOT / "data" / "geojson"
PROBLEM = "application/problem+json"


def make_settings(url: str, tmp: Path | None = None, **overrides: object) -> Settings:
    """Settings for an app on the database `url` (data folder `tmp`, when given)."""
    values: dict[str, object] = {"database_url": url}
    if tmp is not None:
        values["data_dir"] = tmp
    values.update(overrides)
    return Settings(**values)


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
