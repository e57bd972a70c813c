"""What users run: `lapis serve` under wrk (2 threads, 16 connections, gzip accepted), as issue 15 measured it.

    python -m bench serve        (env: BENCH_PARCELS=100000, BENCH_SECONDS=10, BENCH_ROUNDS=2)

1. What the access log costs, on one cached composite tile with 1 worker: `lapis serve` as shipped (LAPIS's own
   access log, written to a file), the same with LAPIS_ACCESS_LOG=off, uvicorn's access log at level info (what
   `lapis serve` ran before) and uvicorn with `--no-access-log --log-level warning` (what the benchmarks ran).
2. `lapis serve --workers 1|2`, without and with a streaming replica on the same machine (LAPIS_REPLICA_URLS):
   the cached composite tile, and items pages (100 parcels by bbox, 200 different pages, each one query).
Rounds are taken in turn, so load from anything else on the machine falls on every configuration alike; each
line gives the cores that the server, PostgreSQL (and the replica) and wrk used meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from bench.bench_features import bbox_paths
from bench.cluster import seeded_cluster
from bench.cpu import CpuUse, cpu_use
from bench.http_load import LoadResult, measure
from bench.lapis_ref import How, lapis_server
from spatial.embedded import EmbeddedCluster, free_port
from spatial.replicas import create_replica, remove_replica
from spatial.synthetic import load_parcels, synthetic_parcels
from spatial.tiles.grid import lonlat_to_tile

PARCELS = int(os.environ.get("BENCH_PARCELS", "100000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
THREADS, CONNECTIONS = 2, 16
GZIP = {"Accept-Encoding": "gzip"}
TAN_AN = (106.413, 10.535)


def header() -> None:
    memory_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemTotal:"))
    print(f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"machine: {os.cpu_count()} cores (nproc), {memory_kb / 1024 ** 2:.1f} GiB RAM, {platform.platform()}, "
          f"Python {platform.python_version()}; SHARED with other work running at the same time (other builds and "
          "test suites), so absolute figures are noisy: compare lines of the same round")
    print(f"command: {' '.join(['python', '-m', 'bench', *sys.argv[1:]])} (BENCH_PARCELS={PARCELS}, "
          f"BENCH_SECONDS={SECONDS}, BENCH_ROUNDS={ROUNDS}); wrk -t{THREADS} -c{CONNECTIONS} -d{SECONDS}s, "
          "Accept-Encoding: gzip; server, PostgreSQL and wrk on the same cores", flush=True)


def load(base: str, paths: list[str], db_ports: tuple[int, ...]) -> tuple[LoadResult, CpuUse, list[CpuUse]]:
    """Warm up 2 s, then measure; CPU of the server tree, the primary (and each replica) and wrk meanwhile."""
    measure(base, paths, seconds=2, connections=CONNECTIONS, threads=THREADS, headers=GZIP)
    server_port = urlsplit(base).port
    with ExitStack() as stack:
        main = stack.enter_context(cpu_use(db_ports[0], server_port))
        others = [stack.enter_context(cpu_use(port, server_port)) for port in db_ports[1:]]
        result = measure(base, paths, seconds=SECONDS, connections=CONNECTIONS, threads=THREADS, headers=GZIP)
    return result, main, others


def server_us(result: LoadResult, cpu: CpuUse) -> float:
    """Server CPU per request (µs): what a request costs the server, whatever else the shared machine runs."""
    return cpu.seconds["server"] / max(result.requests, 1) * 1e6


def line(label: str, result: LoadResult, cpu: CpuUse, replicas: list[CpuUse]) -> None:
    cores = cpu.row(SECONDS) + "".join(f", replica {r.seconds['db'] / SECONDS:.2f}" for r in replicas)
    print(f"  {label:<52} {result.row()}\n  {'':<52} {cores}; server CPU {server_us(result, cpu):.1f} µs/request",
          flush=True)


def mean_rps(results: list[LoadResult]) -> float:
    return statistics.mean(r.requests_per_s for r in results)


@contextmanager
def servers(url: str, configs: dict[str, tuple[How, int, dict[str, str]]]) -> Iterator[dict[str, str]]:
    with ExitStack() as stack:
        yield {name: stack.enter_context(lapis_server(url, workers=workers, extra_env=env, how=how))
               for name, (how, workers, env) in configs.items()}


def access_log_cost(url: str, tile_path: str, db_port: int) -> None:
    print(f"\n1. the access log: one cached composite tile ({tile_path}), 1 worker, {ROUNDS} rounds", flush=True)
    configs: dict[str, tuple[How, int, dict[str, str]]] = {
        "lapis serve (access log to a file)": ("serve", 1, {}),
        "lapis serve, LAPIS_ACCESS_LOG=off": ("serve", 1, {"LAPIS_ACCESS_LOG": "off"}),
        "uvicorn's access log (lapis serve before)": ("uvicorn-logged", 1, {}),
        "uvicorn --no-access-log --log-level warning": ("uvicorn-quiet", 1, {}),
    }
    runs: dict[str, list[LoadResult]] = {name: [] for name in configs}
    costs: dict[str, list[float]] = {name: [] for name in configs}
    with servers(url, configs) as bases:
        for n in range(1, ROUNDS + 1):
            for name, base in bases.items():
                result, cpu, _ = load(base, [tile_path], (db_port,))
                runs[name].append(result)
                costs[name].append(server_us(result, cpu))
                line(f"{name} #{n}", result, cpu, [])
    means = {name: mean_rps(results) for name, results in runs.items()}
    cpu_means = {name: statistics.mean(values) for name, values in costs.items()}
    for name, value in means.items():
        print(f"  mean {name:<47} {value:9.1f} req/s, server CPU {cpu_means[name]:6.1f} µs/request")
    shipped, off, before, quiet = means.values()  # in the order of `configs`
    shipped_us, off_us, before_us, quiet_us = cpu_means.values()
    print(f"  LAPIS's access log: {(1 - shipped / off) * 100:.1f} % fewer req/s than without (target ≤ 10 %), "
          f"+{shipped_us - off_us:.1f} µs ({(shipped_us / off_us - 1) * 100:.1f} %) server CPU a request; uvicorn's: "
          f"{(1 - before / quiet) * 100:.1f} % fewer req/s, +{before_us - quiet_us:.1f} µs "
          f"({(before_us / quiet_us - 1) * 100:.1f} %); lapis serve now {shipped / before:.2f}× the req/s of before",
          flush=True)


def workers_and_replicas(cluster: EmbeddedCluster, url: str, tile_path: str, items: list[str], tmp: Path) -> None:
    port = free_port()
    replica = create_replica(cluster, port, tmp / "replica")
    try:
        db_port = urlsplit(url).port
        assert replica.url and db_port
        print(f"\n2. lapis serve --workers 1|2, without and with a streaming replica on this machine (port {port}); "
              f"cached composite tile, and items pages ({len(items)} bbox pages of up to 100 parcels); "
              f"{ROUNDS} rounds", flush=True)
        with_replica = {"LAPIS_REPLICA_URLS": replica.url}
        configs: dict[str, tuple[How, int, dict[str, str]]] = {
            "1 worker": ("serve", 1, {}), "2 workers": ("serve", 2, {}),
            "1 worker + replica": ("serve", 1, with_replica), "2 workers + replica": ("serve", 2, with_replica)}
        runs: dict[tuple[str, str], list[LoadResult]] = {}
        with servers(url, configs) as bases:
            for n in range(1, ROUNDS + 1):
                for name, base in bases.items():
                    ports = (db_port, port) if "replica" in name else (db_port,)
                    for kind, paths in (("tile", [tile_path]), ("items", items)):
                        result, cpu, others = load(base, paths, ports)
                        runs.setdefault((name, kind), []).append(result)
                        line(f"{kind:<5} {name} #{n}", result, cpu, others)
        print("  means (req/s):")
        for kind in ("tile", "items"):
            base_rate = mean_rps(runs[("1 worker", kind)])
            print("  " + f"{kind:<6}" + "  ".join(
                f"{name}: {mean_rps(runs[(name, kind)]):8.1f} ({mean_rps(runs[(name, kind)]) / base_rate:.2f}×)"
                for name in configs), flush=True)
    finally:
        with contextlib.suppress(Exception):
            remove_replica(cluster, port)


def main() -> None:
    header()
    with seeded_cluster("lapis-bench-") as (cluster, url, tmp):
        parcels = synthetic_parcels(PARCELS)
        load_parcels(url, parcels)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        tile = lonlat_to_tile(*TAN_AN, 12)
        tile_path = f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
        print(f"data: the bundled plan + {PARCELS} synthetic parcels", flush=True)
        access_log_cost(url, tile_path, urlsplit(url).port or 0)
        workers_and_replicas(cluster, url, tile_path, bbox_paths(parcels, "parcels"), tmp)
