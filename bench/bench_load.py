"""Loading a parcels shapefile: `lapis load` vs GDAL's ogr2ogr (PG_USE_COPY=YES) vs `shp2pgsql -D | psql`,
same database, same file, same run. Prints features/s, the ratios, and each tool's peak RSS.

    python -m bench load            # 200,000 parcels (quick)
    BENCH_PARCELS=1000000 python -m bench load

The shapefile has no .cpg, so LAPIS detects the encoding from the DBF bytes (the other tools are told
UTF-8); LAPIS validates every geometry (ST_IsValid, repairs), checks codes and extent, and loads into
the real `parcels` table with its generated Web-Mercator column, GiST, trigram and unique indexes.
ogr2ogr is measured twice: into a new bare table of its own (the usual comparison) and appending into
the same `parcels` table (like for like). Two reader threads query `parcels` and `layer_versions` all
through the LAPIS load: their worst latency is what an API client waits for while the layer is replaced.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from bench.readers import ReaderProbe
from spatial import migrate
from spatial.embedded import EmbeddedCluster
from spatial.io import shadow
from spatial.io.phases import silent
from spatial.io.stage import LOAD_MAINTENANCE_WORK_MEM_KB, LOAD_MEMORY, LOAD_WORK_MEM_KB
from spatial.layers import get_layer
from spatial.seed import seed
from spatial.settings import PROJECT_ROOT
from spatial.synthetic import synthetic_parcels

RSS_TARGET_MB = 500


def _run(command: list[str] | str, env: dict[str, str] | None = None, shell: bool = False) -> tuple[float, float]:
    """Wall time (s) and peak RSS (MB, of the largest process of the command, sampled every 10 ms)."""
    import psutil

    started = time.perf_counter()
    process = subprocess.Popen(command, env={**os.environ, **(env or {})}, shell=shell,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    watched = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            for p in [watched, *watched.children(recursive=True)]:
                peak = max(peak, p.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{command} failed: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
    return elapsed, peak / 2**20


def _count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names


def database_floor(url: str) -> float:
    """Seconds the database alone takes to put the rows LAPIS loaded back into `parcels` the way LAPIS's bulk
    path does — a binary COPY of rows already decoded, validated and held in memory into a new copy of the
    table, its keys and indexes built, ANALYZE, the switch — with no file reading, encoding detection, checks
    or Python start-up: the ceiling for any loader into this layer, whatever it does on the client side."""
    layer = get_layer("parcels")
    names = [c.name for c in layer.all_columns] + ["props", "plan_id", "geom"]
    columns = sql.SQL(", ").join(map(sql.Identifier, names))
    rows = bytearray()
    with psycopg.connect(url) as conn:
        with conn.cursor().copy(sql.SQL("COPY (SELECT {} FROM parcels) TO STDOUT (FORMAT BINARY)").format(
                columns)) as copy:
            for chunk in copy:
                rows += chunk
        started = time.perf_counter()
        with conn.transaction():
            conn.execute(LOAD_MEMORY, (LOAD_WORK_MEM_KB, LOAD_MAINTENANCE_WORK_MEM_KB))
            shadow.lock_writers(conn, layer.id)
            aside = shadow.create(conn, layer.id)
            with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
                    aside.table, columns)) as copy:
                copy.write(rows)
            shadow.build_indexes(conn, aside, silent)
            conn.execute(sql.SQL("ANALYZE {}").format(aside.table))
            shadow.switch(conn, aside, silent)
        return time.perf_counter() - started


def main() -> None:
    n = int(os.environ.get("BENCH_PARCELS", "200000"))
    work = Path(tempfile.mkdtemp(prefix="lapis-bench-load-"))
    cluster = EmbeddedCluster(work / ".data", "lapis_bench", throwaway=True)
    try:
        cluster.start()
        url = cluster.status().url
        assert url
        migrate.upgrade(url)
        seed(url, PROJECT_ROOT / "data" / "geojson")
        shp = work / "parcels.shp"
        started = time.perf_counter()
        synthetic_parcels(n, seed=686).to_file(shp, engine="pyogrio", use_arrow=True)
        shp.with_suffix(".cpg").unlink()
        print(f"{n:,} parcels written in {time.perf_counter() - started:.1f} s "
              f"({sum(p.stat().st_size for p in work.glob('parcels.*')) / 1e6:.0f} MB)", flush=True)
        pg = f"PG:{url}"
        results: dict[str, tuple[float, float]] = {}

        lapis = [str(Path(sys.executable).with_name("lapis")), "load", str(shp), "--layer", "parcels",
                 "--mode", "replace", "--report", str(work / "report.json")]
        with ReaderProbe(url) as readers:  # what API readers wait for while LAPIS replaces the layer
            results["lapis load → parcels"] = _run(lapis, env={"DATABASE_URL": url})
        assert _count(url, "parcels") == n
        report = (work / "report.json").read_text()
        assert '"encoding":"utf-8"' in report and "no .cpg" in report, report[:500]
        load_s = json.loads(report)["elapsed_s"]
        floor_s = database_floor(url)
        assert _count(url, "parcels") == n

        ogr = ["ogr2ogr", "-f", "PostgreSQL", pg, str(shp), "-nln", "ogr_parcels", "-overwrite",
               "-lco", "GEOMETRY_NAME=geom", "-nlt", "PROMOTE_TO_MULTI", "-oo", "ENCODING=UTF-8"]
        results["ogr2ogr → new table"] = _run(ogr, env={"PG_USE_COPY": "YES"})
        assert _count(url, "ogr_parcels") == n

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("TRUNCATE parcels")
        ogr_same = ["ogr2ogr", "-f", "PostgreSQL", pg, str(shp), "-nln", "parcels(geom)", "-append",
                    "-nlt", "PROMOTE_TO_MULTI", "-oo", "ENCODING=UTF-8"]
        results["ogr2ogr → parcels (append)"] = _run(ogr_same, env={"PG_USE_COPY": "YES"})
        assert _count(url, "parcels") == n

        if shutil.which("shp2pgsql"):
            shp2 = f"shp2pgsql -D -s 4326 -W UTF-8 -I {shp} shp_parcels | psql -q -v ON_ERROR_STOP=1 '{url}'"
            results["shp2pgsql -D | psql"] = _run(shp2, shell=True)
            assert _count(url, "shp_parcels") == n

        lapis_rate = n / results["lapis load → parcels"][0]
        print(f"\n{'tool':<30} {'seconds':>8} {'features/s':>11} {'LAPIS ×':>8} {'peak RSS MB':>12}")
        for name, (seconds, rss) in results.items():
            rate = n / seconds
            print(f"{name:<30} {seconds:>8.2f} {rate:>11,.0f} {lapis_rate / rate:>8.2f} {rss:>12.0f}")
        ogr_rate = n / results["ogr2ogr → new table"][0]
        print(f"\ndatabase floor: the same {n:,} rows, already decoded and in memory, COPYed back into parcels with "
              f"its keys and indexes rebuilt: {floor_s:.2f} s = {n / floor_s:,.0f} features/s = "
              f"{n / floor_s / ogr_rate:.2f}× ogr2ogr's rate — the most any loader into this layer can reach; "
              f"LAPIS's whole run takes {results['lapis load → parcels'][0] / floor_s:.2f}× the floor")
        print(f"readers during the LAPIS load (one thread each, a query every 20 ms): {readers.summary()}")
        lapis_rss = results["lapis load → parcels"][1]
        print(f"\nLAPIS: {load_s:.2f} s in the load itself (read, COPY, checks, insert, index builds; "
              f"{n / load_s:,.0f} features/s), {results['lapis load → parcels'][0] - load_s:.2f} s process start "
              f"(Python imports), connection and report")
        print(f"LAPIS peak RSS {lapis_rss:.0f} MB (target ≤ {RSS_TARGET_MB} MB: "
              f"{'met' if lapis_rss <= RSS_TARGET_MB else 'NOT met'}); rate vs ogr2ogr new table "
              f"{lapis_rate / (n / results['ogr2ogr → new table'][0]):.2f}× (target ≥ 1.0×)")
    finally:
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
