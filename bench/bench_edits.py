"""What editing costs (issue 12): edits per second, and what sign-in, roles and row-level rules add to reads.

    python -m bench edits        (env: BENCH_PARCELS=50000, BENCH_SECONDS=8, BENCH_ROUNDS=3, BENCH_BEFORE=e6f207c)

1. Edits per second: `PATCH /collections/zones/items/{id}` (JSON Merge Patch of one attribute) by a signed-in
   editor with the ETag of the previous answer as `If-Match` — the bearer token resolved, the ETag compared, the
   change written into the editor's proposal under `SET LOCAL ROLE lapis_editor` — one client in a loop, then four
   clients on four features at once.
2. The same read requests against LAPIS before this issue (`BENCH_BEFORE`, checked out aside: no roles, the
   owner's login) and now (the `lapis_app` login reading as `lapis_reader`), on one database, in one run, the two
   servers interleaved round by round: an anonymous items page (100 parcels by bbox, 200 pages) and an uncached
   tile (the tile cache off, 200 different z14 tiles of the parcels layer).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

from bench.bench_features import bbox_paths
from bench.cluster import seeded_cluster
from bench.http_load import LoadResult, measure
from bench.servers import server_process
from spatial.identity.model import Role
from spatial.identity.tokens import create_token
from spatial.identity.users import add_user
from spatial.settings import PROJECT_ROOT
from spatial.synthetic import load_parcels, synthetic_parcels
from spatial.tiles.grid import lonlat_to_tile

PARCELS = int(os.environ.get("BENCH_PARCELS", "50000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
BEFORE = os.environ.get("BENCH_BEFORE", "e6f207c")  # main before issue 12 (no roles, no sign-in)


@contextmanager
def checkout(commit: str, folder: Path) -> Iterator[Path]:
    """LAPIS as it was at `commit`, in a worktree of its own (removed afterwards)."""
    subprocess.run(["git", "-C", str(PROJECT_ROOT), "worktree", "add", "--detach", str(folder), commit],
                   check=True, capture_output=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "-C", str(PROJECT_ROOT), "worktree", "remove", "--force", str(folder)],
                       check=False, capture_output=True)


@contextmanager
def serve(tree: Path, db_url: str, tmp: Path, name: str) -> Iterator[str]:
    """`lapis serve` of the code in `tree` (one worker, access log to a file, tile cache off)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "DATABASE_URL": db_url, "LAPIS_DATA_DIR": str(tmp / name),
           "LAPIS_ACCESS_LOG": str(tmp / f"{name}-access.log"), "LAPIS_TILE_CACHE": "off"}
    argv = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", "{port}", "--workers", "1"]
    with server_process(argv, env, "/health/ready", cwd=tree, log=tmp / f"{name}-server.log") as base:
        yield base


def tile_paths(parcels, n: int = 200, z: int = 14) -> list[str]:
    """`n` different tiles of the parcels layer at zoom `z` (the parcels' own centroids pick them)."""
    seen: dict[tuple[int, int], None] = {}
    for point in parcels.geometry.representative_point():
        tile = lonlat_to_tile(point.x, point.y, z)
        seen.setdefault((tile.x, tile.y))
        if len(seen) == n:
            break
    return [f"/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}" for x, y in seen]


def editor_token(owner_url: str) -> str:
    with psycopg.connect(owner_url) as conn:
        add_user(conn, "bench.editor", Role.editor)
        token, _ = create_token(conn, "bench.editor", lifetime=None)
    return token


def patch_loop(base: str, token: str, feature_id: int, seconds: float, counts: list[int]) -> None:
    """PATCH one zone's English name over and over, each time with the ETag the last answer gave."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        etag = client.get(f"/collections/zones/items/{feature_id}").headers["etag"]
        done, deadline, i = 0, time.perf_counter() + seconds, 0
        while time.perf_counter() < deadline:
            i += 1
            answer = client.patch(f"/collections/zones/items/{feature_id}",
                                  json={"properties": {"name_en": f"Zone {feature_id} edit {i}"}},
                                  headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"})
            if answer.status_code != 200:
                raise RuntimeError(f"PATCH answered {answer.status_code}: {answer.text[:300]}")
            etag = answer.headers["etag"]
            done += 1
    counts.append(done)


def edits_per_second(base: str, token: str, zone_ids: list[int]) -> None:
    print(f"\n1. edits: PATCH (merge patch, If-Match, bearer token) of a zone, {SECONDS} s", flush=True)
    for clients, features in ((1, zone_ids[:1]), (4, zone_ids[1:5])):  # features not yet in the proposal
        counts: list[int] = []
        threads = [threading.Thread(target=patch_loop, args=(base, token, feature, SECONDS, counts))
                   for feature in features]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if len(counts) != clients:
            raise RuntimeError("a PATCH client failed (see above)")
        print(f"  {clients} client(s): {sum(counts) / SECONDS:8.1f} edits/s ({sum(counts)} edits)", flush=True)


def reads(servers: dict[str, str], paths: dict[str, list[str]]) -> None:
    print(f"\n2. reads before ({BEFORE}) and now, {ROUNDS} interleaved rounds of {SECONDS} s, 8 connections",
          flush=True)
    runs: dict[tuple[str, str], list[LoadResult]] = {}
    for _ in range(ROUNDS):
        for kind, kind_paths in paths.items():
            for name, base in servers.items():
                runs.setdefault((kind, name), []).append(measure(base, kind_paths, seconds=SECONDS, connections=8))
    for kind in paths:
        rates = {name: statistics.mean(r.requests_per_s for r in runs[(kind, name)]) for name in servers}
        p50 = {name: statistics.median(r.p50_ms for r in runs[(kind, name)]) for name in servers}
        errors = {name: sum(r.errors for r in runs[(kind, name)]) for name in servers}
        print(f"  {kind:<14} before {rates['before']:8.1f} req/s (p50 {p50['before']:6.2f} ms)   now "
              f"{rates['now']:8.1f} req/s (p50 {p50['now']:6.2f} ms)   now/before {rates['now'] / rates['before']:.3f}"
              f"   errors {errors['before']}/{errors['now']}", flush=True)


def main() -> None:
    print(f"{PARCELS:,} synthetic parcels + the bundled plan; load average {os.getloadavg()}", flush=True)
    with seeded_cluster("lapis-bench-edits-") as (cluster, owner_url, tmp):
        app_url = cluster.status().app_url
        assert app_url
        parcels = synthetic_parcels(PARCELS)
        load_parcels(owner_url, parcels)
        with psycopg.connect(owner_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            zone_ids = [row[0] for row in conn.execute("SELECT id FROM zones ORDER BY id LIMIT 5")]
        token = editor_token(owner_url)
        paths = {"items page": bbox_paths(parcels, "parcels"), "uncached tile": tile_paths(parcels)}
        with checkout(BEFORE, tmp / "before") as before_tree, \
                serve(before_tree, owner_url, tmp, "before") as before, \
                serve(PROJECT_ROOT, app_url, tmp, "now") as now:
            reads({"before": before, "now": now}, paths)
            edits_per_second(now, token, zone_ids)
