"""Classifying parcels at scale, four ways, same parcels, same database, same run:

  (a) dask     — `lapis classify --engine dask`: a LocalCluster of 2 process workers, a task per 100,000 parcels
  (b) local    — `lapis classify --engine local`: the same partition function in one process, partition by partition
  (c) postgis  — `/classify`'s single set-based SQL join (COPY into a temp table, index, join, fetch)
  (d) geopandas — plain geopandas on the whole frame: read everything, `sjoin`, intersection areas, pick the largest

Each runs in its own process, sampled every 50 ms: wall time, parcels/s, peak RSS of the main process, of each Dask
worker and of the PostgreSQL backend. Input: synthetic parcels (a tenth astride boundaries) as a GeoParquet dataset
(files of 100,000 rows, row groups of 25,000, Hilbert order within each file).

    python -m bench classify_scale                                   # 200,000 and 1,000,000 parcels
    BENCH_CLASSIFY_SIZES=1000000,5000000 python -m bench classify_scale
    BENCH_CLASSIFY_ENGINES=dask,local python -m bench classify_scale

The printed report is also saved in bench/results/classify_scale.txt (and .json).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from spatial.settings import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results"
CHUNK = 500_000  # parcels generated at a time (the generator's memory)
FILE_ROWS = 100_000
ENGINES = ("dask", "local", "postgis", "geopandas")


@dataclass
class Run:
    engine: str
    parcels: int
    seconds: float = 0.0
    main_rss_mb: float = 0.0
    worker_rss_mb: list[float] = field(default_factory=list)
    backend_rss_mb: float = 0.0
    load: float = 0.0  # the machine's 1-minute load average at the end (2 cores: above 2, others were running too)
    error: str | None = None

    @property
    def rate(self) -> float:
        return self.parcels / self.seconds if self.seconds else 0.0


def make_input(n: int, folder: Path) -> None:
    """`n` synthetic parcels as a dataset of FILE_ROWS-row files, generated CHUNK at a time."""
    from spatial.io.geoparquet import part_name, write_frame
    from spatial.synthetic import synthetic_parcels

    folder.mkdir(parents=True)
    part = 0
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        frame = synthetic_parcels(size, seed=686 + start // CHUNK, edge_share=0.1)
        frame["code"] = [f"P{start + i + 1:08d}" for i in range(size)]
        frame = frame.iloc[frame.geometry.hilbert_distance().argsort(kind="stable")]
        for offset in range(0, size, FILE_ROWS):
            write_frame(frame.iloc[offset:offset + FILE_ROWS], folder / part_name(part))
            part += 1


class Sampler(threading.Thread):
    """Peak RSS per process of a command's process tree, and of the database's backends, every 50 ms."""

    def __init__(self, pid: int, postmaster: int | None) -> None:
        super().__init__(daemon=True)
        self.pid, self.postmaster = pid, postmaster
        self.peaks: dict[int, tuple[str, float]] = {}
        self.backend = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        import psutil

        root = psutil.Process(self.pid)
        while not self.done.is_set():
            try:
                for p in [root, *root.children(recursive=True)]:
                    rss = p.memory_info().rss / 2**20
                    # Dask's process workers retitle themselves "dask worker [address]"; the rest are helpers
                    command = " ".join(p.cmdline())
                    role = "main" if p.pid == self.pid else (
                        "worker" if "dask worker" in command or "spawn_main" in command else "other")
                    if rss > self.peaks.get(p.pid, ("", 0.0))[1]:
                        self.peaks[p.pid] = (role, rss)
                if self.postmaster:
                    for p in psutil.Process(self.postmaster).children():
                        self.backend = max(self.backend, p.memory_info().rss / 2**20)
            except psutil.Error:
                pass
            time.sleep(0.05)


def measure(engine: str, n: int, source: Path, out: Path, url: str, postmaster: int | None) -> Run:
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "bench.bench_classify_scale", "run", engine, str(source),
                                str(out), url], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    sampler = Sampler(process.pid, postmaster)
    sampler.start()
    stdout, stderr = process.communicate()
    sampler.done.set()
    sampler.join()
    run = Run(engine, n, time.perf_counter() - started, load=os.getloadavg()[0])
    run.main_rss_mb = sampler.peaks.get(process.pid, ("main", 0.0))[1]
    run.worker_rss_mb = sorted((rss for role, rss in sampler.peaks.values() if role == "worker"), reverse=True)
    run.backend_rss_mb = sampler.backend if engine == "postgis" else 0.0
    if process.returncode != 0:
        run.error = stderr.decode(errors="replace").strip().splitlines()[-1][:200]
    else:
        rows = json.loads(stdout.decode().strip().splitlines()[-1])["rows"]
        if rows != n:
            run.error = f"{rows} rows classified of {n}"
    return run


def run_engine(engine: str, source: Path, out: Path, url: str) -> int:
    """In the measured process: classify `source` into `out` with one engine; returns the rows classified."""
    if engine == "geopandas":
        return plain_geopandas(source, out, url)
    from spatial.analysis.classification import classify_file

    return classify_file(source, out, engine, url=url, workers=2).rows


def plain_geopandas(source: Path, out: Path, url: str) -> int:
    """The textbook way: the whole frame in memory, `sjoin`, intersection areas in metres, largest share per parcel."""
    import geopandas as gpd
    import pandas as pd

    from spatial.analysis.join import fetch_plan_layers

    plan = fetch_plan_layers(url)
    zones = gpd.GeoDataFrame({"layer": plan.layer, "code": plan.code, "kind": plan.kind}, geometry=plan.geoms,
                             crs="EPSG:4326")
    parcels = gpd.read_parquet(source).drop(columns="bbox", errors="ignore")
    joined = gpd.sjoin(parcels[["code", "geometry"]], zones, predicate="intersects")
    other = gpd.GeoSeries(zones.geometry.loc[joined.index_right].values, index=joined.index, crs="EPSG:4326")
    area = joined.geometry.intersection(other).to_crs(9210).area.to_numpy()
    joined["share"] = area / parcels.geometry.loc[joined.index].to_crs(9210).area.to_numpy()
    best = joined[joined.share > 0].sort_values(["share", "code_right"], ascending=[False, True])
    admin = best[best.layer == "admin_units"].groupby(level=0).code_right.first()
    region = best[best.kind == "region"].groupby(level=0).agg(code=("code_right", "first"), share=("share", "first"))
    parcels["lapis_admin_code"] = admin
    parcels["lapis_region_code"] = region.code
    parcels["lapis_region_share_pct"] = (100 * region.share).round(2)
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(parcels.drop(columns="geometry")).to_parquet(out / "part-00000.parquet")
    return len(parcels)


def report(runs: list[Run]) -> str:
    lines = [f"{'parcels':>10} {'engine':<10} {'wall s':>8} {'parcels/s':>10} {'main MB':>8} {'workers MB':>16} "
             f"{'db backend MB':>13} {'load':>5}"]
    for r in runs:
        workers = "/".join(f"{w:.0f}" for w in r.worker_rss_mb[:2]) or "-"
        lines.append(f"{r.parcels:>10,} {r.engine:<10} {r.seconds:>8.1f} {r.rate:>10,.0f} {r.main_rss_mb:>8.0f} "
                     f"{workers:>16} {r.backend_rss_mb or 0:>13.0f} {r.load:>5.1f}"
                     + (f"  FAILED: {r.error}" if r.error else ""))
    lines.append("")
    for n in sorted({r.parcels for r in runs}):
        by = {r.engine: r for r in runs if r.parcels == n and not r.error}
        ratios = [f"{a}/{b} {by[a].rate / by[b].rate:.2f}×" for a, b in
                  (("dask", "postgis"), ("local", "postgis"), ("dask", "local"), ("geopandas", "postgis"),
                   ("dask", "geopandas")) if a in by and b in by]
        lines.append(f"{n:,} parcels — throughput ratios: {', '.join(ratios)}")
    sizes = sorted({r.parcels for r in runs})
    if len(sizes) > 1:
        for engine in ("dask", "local", "geopandas"):
            first, last = ([r for r in runs if r.engine == engine and r.parcels == n and not r.error] for n in
                           (sizes[0], sizes[-1]))
            if first and last:
                a, b = first[0], last[0]
                peak_a = max(a.worker_rss_mb or [a.main_rss_mb])
                peak_b = max(b.worker_rss_mb or [b.main_rss_mb])
                lines.append(f"{engine}: peak RSS per {'worker' if a.worker_rss_mb else 'process'} "
                             f"{peak_a:.0f} MB at {sizes[0]:,} → {peak_b:.0f} MB at {sizes[-1]:,} "
                             f"({peak_b / peak_a:.2f}× for {sizes[-1] / sizes[0]:.0f}× the parcels)")
    for r in runs:
        if r.engine == "dask" and not r.error:
            parts = -(-r.parcels // FILE_ROWS)  # a task per file: its row groups merged up to 100,000 parcels
            lines.append(f"dask at {r.parcels:,}: {parts} partitions, {2 * r.seconds / parts:.2f} worker-s each "
                         "(start-up included): N machines × c cores ≈ N·c / that partitions per second")
    return "\n".join(lines)


def main() -> None:
    from spatial import migrate
    from spatial.embedded import EmbeddedCluster
    from spatial.seed import seed

    sizes = [int(s) for s in os.environ.get("BENCH_CLASSIFY_SIZES", "200000,1000000").split(",")]
    engines = [e for e in os.environ.get("BENCH_CLASSIFY_ENGINES", ",".join(ENGINES)).split(",") if e]
    work = Path(tempfile.mkdtemp(prefix="lapis-bench-classify-"))
    cluster = EmbeddedCluster(work / ".data", "lapis_bench", throwaway=True)
    runs: list[Run] = []
    try:
        status = cluster.start()
        url = status.url
        assert url
        migrate.upgrade(url)
        seed(url, PROJECT_ROOT / "data" / "geojson")
        for n in sizes:
            source = work / f"parcels_{n}"
            started = time.perf_counter()
            make_input(n, source)
            print(f"{n:,} parcels written as GeoParquet in {time.perf_counter() - started:.1f} s", flush=True)
            for engine in engines:
                out = work / f"out_{engine}_{n}"
                runs.append(measure(engine, n, source, out, url, status.pid))
                print(report(runs[-1:]).splitlines()[1], flush=True)
                shutil.rmtree(out, ignore_errors=True)  # disk: keep one output at a time
            shutil.rmtree(source, ignore_errors=True)
    finally:
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)
    text = report(runs)
    print("\n" + text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "classify_scale.txt").write_text(text + "\n", encoding="utf-8")
    (RESULTS / "classify_scale.json").write_text(json.dumps([asdict(r) for r in runs], indent=1), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        rows = run_engine(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), sys.argv[5])
        print(json.dumps({"rows": rows}))
    else:
        main()
