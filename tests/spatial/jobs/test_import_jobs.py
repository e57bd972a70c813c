"""Import jobs without HTTP: every format becomes a proposal of the uploader with the right changes (the layer
untouched), the report is the loader's, a dry run proposes nothing, the loader's refusals fail the job in the
form's words, progress shows while the job runs, a cancel rolls it back, and a dead runner's jobs are reaped."""

from __future__ import annotations

import itertools
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import psycopg
import pytest

from spatial.edits.proposals import publish, reject
from spatial.edits.publishing import Applied
from spatial.identity.model import Identity, Role
from spatial.identity.users import add_user
from spatial.io.loader import LoadOptions
from spatial.jobs import store
from spatial.jobs.options import options_json
from spatial.jobs.progress import Interrupt
from spatial.jobs.work import ImportJob, run_job
from spatial.layers import get_layer
from tests.helpers import run, snapshot
from tests.upload_files import FORMATS, NAMES, parcels, write

_users = itertools.count(1)
FREE_RUNNER = 2_000_000_001  # a runner key no live process holds


def user(url: str, role: Role = Role.editor) -> Identity:
    name = f"up{role.value}{next(_users)}"
    with psycopg.connect(url) as conn:
        add_user(conn, name, role)
    return Identity(name, role)


def queue(url: str, identity: Identity, path: Path, tmp: Path, runner: int = FREE_RUNNER,
          **options: Any) -> ImportJob:
    """A queued job for `path` (copied into a folder of its own, as the route does)."""
    folder = Path(tmp) / f"job-{next(_users)}"
    folder.mkdir()
    shutil.copy(path, folder / path.name)
    load = LoadOptions(layer=options.pop("layer", "parcels"), batch_size=options.pop("batch_size", 10_000), **options)
    record = run(url, lambda conn: store.create_job(conn, identity, load.layer, path.name, options_json(load), runner))
    return ImportJob(record["id"], identity, folder, path.name, load)


def job_row(url: str, job_id: int) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT state, progress, report, proposal_id, author, started_at, finished_at "
                           "FROM import_jobs WHERE id = %s", (job_id,)).fetchone()
    return dict(zip(("state", "progress", "report", "proposal_id", "author", "started", "finished"), row,
                    strict=True))


def changes(url: str, proposal_id: int) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT op, feature_id, properties, ST_AsText(geom), base_etag FROM proposal_changes "
                            "WHERE proposal_id = %s ORDER BY id", (proposal_id,)).fetchall()
    return [dict(zip(("op", "feature_id", "properties", "wkt", "base_etag"), r, strict=True)) for r in rows]


def published(url: str, frame: gpd.GeoDataFrame) -> None:
    """`frame` written straight into parcels (as if published earlier)."""
    with psycopg.connect(url) as conn:
        for code, name, use, geom in zip(frame.code, frame.ten, frame.land_use, frame.geometry, strict=True):
            conn.execute("INSERT INTO parcels (code, name_vi, land_use, geom) VALUES (%s, %s, %s, "
                         "ST_Multi(ST_GeomFromWKB(%s, 4326)))", (code, name, use, geom.wkb))


@pytest.mark.parametrize("kind", FORMATS)
def test_every_format_becomes_a_proposal_of_the_uploader(fresh_db_url: str, tmp_path: Path, kind: str) -> None:
    editor = user(fresh_db_url)
    path = write(kind, tmp_path / "in", parcels(15))
    before = snapshot(fresh_db_url, "parcels")
    with psycopg.connect(fresh_db_url) as conn:
        last_id = conn.execute("SELECT coalesce(max(id), 0) FROM parcels").fetchone()[0]
    job = queue(fresh_db_url, editor, path, tmp_path)
    assert run_job(fresh_db_url, job, Interrupt()) == "succeeded"
    row = job_row(fresh_db_url, job.id)
    assert row["state"] == "succeeded" and row["started"] and row["finished"], row
    assert not job.folder.exists(), "the upload is removed when the job ends"
    report = row["report"]
    assert report["read"] == report["loaded"] == 15 and report["rejected"] == 0 and report["errors"] == []
    assert report["proposal"] == {"id": row["proposal_id"], "create": 15, "replace": 0, "delete": 0,
                                  "unchanged": 0}
    assert report["sources"][0]["source"].startswith(path.name), "the uploader's name, not the server's path"
    assert str(tmp_path) not in str(row), "neither in the report nor in the progress"
    if kind == "shp-zip":
        assert report["sources"][0]["encoding"] == "tcvn3", report["sources"][0]["encoding_reason"]
    with psycopg.connect(fresh_db_url) as conn:
        author, state = conn.execute("SELECT author, state FROM proposals WHERE id = %s",
                                     (row["proposal_id"],)).fetchone()
    assert (author, state) == (editor.user, "open")
    proposed = changes(fresh_db_url, row["proposal_id"])
    assert [c["op"] for c in proposed] == ["create"] * 15
    names = {c["properties"]["code"]: c["properties"]["name_vi"] for c in proposed}
    assert names == {f"UP-{i + 1}": NAMES[i] for i in range(15)}, "decoded to NFC Vietnamese"
    if kind != "fgb":  # (FlatGeobuf's spatial index orders the features in the file as it likes)
        assert [c["properties"]["code"] for c in proposed] == [f"UP-{i}" for i in range(1, 16)]
    assert {c["properties"]["land_use"] for c in proposed} == {"ONT", "LUC"}
    ids = [c["feature_id"] for c in proposed]
    assert ids == sorted(ids) and ids[0] > last_id, "new ids from the layer's sequence, in the file's order"
    assert all(c["wkt"].startswith("MULTIPOLYGON") and c["base_etag"] is None for c in proposed)
    assert "id" not in proposed[0]["properties"] and "geom" not in proposed[0]["properties"]
    assert snapshot(fresh_db_url, "parcels") == before, "the layer is not touched: only a proposal"


def test_upsert_and_replace_compare_with_the_layer_and_publish(fresh_db_url: str, tmp_path: Path) -> None:
    editor = user(fresh_db_url)
    published(fresh_db_url, parcels(4, prefix="KEEP"))
    with psycopg.connect(fresh_db_url) as conn:
        current = dict(conn.execute("SELECT code, id FROM parcels WHERE code LIKE 'KEEP-%'").fetchall())
        etags = dict(conn.execute(f"SELECT code, {_etag('t')} FROM parcels t WHERE code LIKE 'KEEP-%'").fetchall())
        others = conn.execute("SELECT count(*) FROM parcels WHERE code NOT LIKE 'KEEP-%'").fetchone()[0]
    upload = parcels(4, prefix="KEEP")
    upload.loc[1, "ten"] = "Tên mới"  # KEEP-2 changes its name
    upload = upload.drop(index=3)  # KEEP-4 is not in the file
    upload = gpd.GeoDataFrame(
        [*upload.itertuples(index=False), *parcels(1, prefix="NEW", x0=106.5).itertuples(index=False)],
        columns=upload.columns, geometry="geometry", crs=4326)
    path = write("gpkg", tmp_path / "in", upload)

    upsert = queue(fresh_db_url, editor, path, tmp_path, mode="upsert")
    assert run_job(fresh_db_url, upsert, Interrupt()) == "succeeded"
    row = job_row(fresh_db_url, upsert.id)
    assert row["report"]["proposal"] == {"id": row["proposal_id"], "create": 1, "replace": 1, "delete": 0,
                                         "unchanged": 2}
    proposed = {c["op"]: c for c in changes(fresh_db_url, row["proposal_id"])}
    assert proposed["replace"]["feature_id"] == current["KEEP-2"]
    assert proposed["replace"]["properties"]["name_vi"] == "Tên mới"
    assert proposed["replace"]["base_etag"] == etags["KEEP-2"], "made against the published version"
    assert proposed["create"]["properties"]["code"] == "NEW-1"
    approver = user(fresh_db_url, Role.approver)
    run(fresh_db_url, lambda conn: reject(conn, row["proposal_id"], approver))  # its features are free again

    replacing = queue(fresh_db_url, editor, path, tmp_path, mode="replace")
    assert run_job(fresh_db_url, replacing, Interrupt()) == "succeeded"
    row = job_row(fresh_db_url, replacing.id)
    counts = row["report"]["proposal"]
    assert (counts["create"], counts["replace"], counts["unchanged"]) == (1, 1, 2)
    assert counts["delete"] == 1 + others, "every feature the file lacks"
    deleted = [c for c in changes(fresh_db_url, row["proposal_id"]) if c["op"] == "delete"]
    keep4 = next(c for c in deleted if c["feature_id"] == current["KEEP-4"])
    assert keep4["properties"] is None and keep4["wkt"] is None and keep4["base_etag"] == etags["KEEP-4"]

    published_ = run(fresh_db_url, lambda conn: publish(conn, row["proposal_id"], approver))
    assert published_.applied["parcels"] == Applied(created=1, changed=1, deleted=1 + others)
    with psycopg.connect(fresh_db_url) as conn:
        layer = conn.execute("SELECT code, name_vi, land_use, id FROM parcels ORDER BY code").fetchall()
    assert [r[:3] for r in layer] == [(c, t, u) for c, t, u in
                                      sorted(zip(upload.code, upload.ten, upload.land_use, strict=True))]
    assert {r[0]: r[3] for r in layer if r[0].startswith("KEEP")} == {
        code: current[code] for code in ("KEEP-1", "KEEP-2", "KEEP-3")}, "replaced features keep their ids"


def _etag(alias: str) -> str:
    from spatial.edits.etag import etag_sql

    return etag_sql(get_layer("parcels"), alias)


def test_a_file_the_layer_already_holds_proposes_nothing(fresh_db_url: str, tmp_path: Path) -> None:
    editor = user(fresh_db_url)
    frame = parcels(5, prefix="SAME")
    published(fresh_db_url, frame)
    job = queue(fresh_db_url, editor, write("gpkg", tmp_path / "in", frame), tmp_path, mode="upsert")
    assert run_job(fresh_db_url, job, Interrupt()) == "succeeded"
    row = job_row(fresh_db_url, job.id)
    assert row["state"] == "succeeded" and row["proposal_id"] is None and row["finished"] is not None
    assert row["report"]["proposal"] == {"id": None, "create": 0, "replace": 0, "delete": 0, "unchanged": 5}
    assert any(w.startswith("no changes") for w in row["report"]["warnings"])
    with psycopg.connect(fresh_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM proposals").fetchone()[0] == 0


def test_a_dry_run_reports_and_proposes_nothing(fresh_db_url: str, tmp_path: Path) -> None:
    editor = user(fresh_db_url)
    job = queue(fresh_db_url, editor, write("geojson", tmp_path / "in", parcels(6)), tmp_path, dry_run=True)
    assert run_job(fresh_db_url, job, Interrupt()) == "succeeded"
    row = job_row(fresh_db_url, job.id)
    assert row["proposal_id"] is None and row["report"]["dry_run"] is True
    assert row["report"]["proposal"] == {"id": None, "create": 6, "replace": 0, "delete": 0, "unchanged": 0}
    assert row["progress"]["phase"] == "rollback"
    with psycopg.connect(fresh_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM proposals").fetchone()[0] == 0


def test_the_loaders_refusals_fail_the_job_in_the_forms_words(fresh_db_url: str, tmp_path: Path) -> None:
    editor = user(fresh_db_url)
    path = write("geojson", tmp_path / "in", parcels(3))
    bad_map = queue(fresh_db_url, editor, path, tmp_path, field_map={"nope": "name_vi"})
    assert run_job(fresh_db_url, bad_map, Interrupt()) == "failed"
    error = job_row(fresh_db_url, bad_map.id)["report"]["errors"][0]
    assert error["parameter"] == "mapping" and error["detail"].startswith("mapping nope=name_vi: the source has no")
    assert "--" not in error["detail"]

    zones = queue(fresh_db_url, editor, path, tmp_path, layer="zones")  # zones.kind is required
    assert run_job(fresh_db_url, zones, Interrupt()) == "failed"
    assert "zones.kind is required" in job_row(fresh_db_url, zones.id)["report"]["errors"][0]["detail"]

    projects = tmp_path / "in" / "projects.csv"  # the layer's own rules: category is one of a list
    projects.write_text("code,ten,category,lon,lat\nPR1,Cảng mới,spaceport,106.5,10.6\n", encoding="utf-8")
    job = queue(fresh_db_url, editor, projects, tmp_path, layer="projects")
    assert run_job(fresh_db_url, job, Interrupt()) == "failed"
    error = job_row(fresh_db_url, job.id)["report"]["errors"][0]
    assert error["title"] == "Refused by the database" and "[constraint projects_category_check]" in error["detail"]
    assert 'relation "projects"' in error["detail"] and "lapis_import" not in error["detail"]

    broken = tmp_path / "in" / "broken.gpkg"
    broken.write_bytes(b"SQLite format 3\x00" + bytes(200))
    job = queue(fresh_db_url, editor, broken, tmp_path)
    assert run_job(fresh_db_url, job, Interrupt()) == "failed"
    detail = job_row(fresh_db_url, job.id)["report"]["errors"][0]["detail"]
    assert detail.startswith("broken.gpkg") and str(tmp_path) not in detail

    points = tmp_path / "in" / "points.csv"  # points cannot go into a polygon layer: every row is rejected
    points.write_text("code,lon,lat\nP1,106.1,10.6\nP2,106.2,10.7\n")
    job = queue(fresh_db_url, editor, points, tmp_path)
    assert run_job(fresh_db_url, job, Interrupt()) == "failed"
    row = job_row(fresh_db_url, job.id)
    assert row["report"]["rejected"] == 2 and "does not fit" in row["report"]["rejects"][0]["reason"]
    assert row["report"]["errors"][0]["detail"].startswith("nothing to load: every feature was rejected")
    with psycopg.connect(fresh_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM proposals").fetchone()[0] == 0


def test_a_code_the_layer_or_another_proposal_holds_is_a_conflict(fresh_db_url: str, tmp_path: Path) -> None:
    editor, other = user(fresh_db_url), user(fresh_db_url)
    published(fresh_db_url, parcels(2, prefix="OLD"))
    path = write("fgb", tmp_path / "in", parcels(3, prefix="OLD"))
    job = queue(fresh_db_url, editor, path, tmp_path)  # append: OLD-1 and OLD-2 exist
    assert run_job(fresh_db_url, job, Interrupt()) == "failed"
    error = job_row(fresh_db_url, job.id)["report"]["errors"][0]
    assert error["title"] == "Conflict" and "'OLD-1', 'OLD-2'" in error["detail"]

    fresh = write("fgb", tmp_path / "in2", parcels(2, prefix="NEW"))
    first = queue(fresh_db_url, other, fresh, tmp_path)
    assert run_job(fresh_db_url, first, Interrupt()) == "succeeded"
    proposal = job_row(fresh_db_url, first.id)["proposal_id"]
    second = queue(fresh_db_url, editor, fresh, tmp_path)
    assert run_job(fresh_db_url, second, Interrupt()) == "failed"
    detail = job_row(fresh_db_url, second.id)["report"]["errors"][0]["detail"]
    assert f"NEW-1 (proposal {proposal})" in detail


def blocked_job(url: str, tmp_path: Path, rows: int = 400) -> tuple[ImportJob, threading.Thread, Interrupt,
                                                                     psycopg.Connection, list[str]]:
    """A job stopped at its last step, the INSERT into proposal_changes, by a lock the test holds (the caller
    releases it)."""
    editor = user(url)
    job = queue(url, editor, write("geojson", tmp_path / "in", parcels(rows)), tmp_path, batch_size=50)
    lock = psycopg.connect(url)
    lock.execute("LOCK TABLE proposal_changes IN SHARE MODE")
    interrupt, outcome = Interrupt(), []
    thread = threading.Thread(target=lambda: outcome.append(run_job(url, job, interrupt)))
    thread.start()
    return job, thread, interrupt, lock, outcome


def until(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return value


def test_progress_shows_while_the_job_runs(fresh_db_url: str, tmp_path: Path) -> None:
    job, thread, _, lock, outcome = blocked_job(fresh_db_url, tmp_path)
    try:
        row = until(lambda: (r := job_row(fresh_db_url, job.id))["progress"].get("detail", "").startswith("400 changes")
                    and r, "the job reached its last step")
        assert row["state"] == "running" and row["finished"] is None and row["progress"]["phase"] == "write"
        assert row["progress"]["rows_done"] == row["progress"]["rows_total"] == 400
        assert row["proposal_id"] is None and row["report"] is None
    finally:
        lock.rollback()
        lock.close()
    thread.join(60)
    assert outcome == ["succeeded"]
    assert job_row(fresh_db_url, job.id)["progress"]["phase"] == "commit"


def test_a_cancelled_job_is_rolled_back(fresh_db_url: str, tmp_path: Path) -> None:
    job, thread, interrupt, lock, outcome = blocked_job(fresh_db_url, tmp_path)
    try:
        until(lambda: job_row(fresh_db_url, job.id)["progress"].get("detail", "").startswith("400 changes"),
              "the last step")
        record = run(fresh_db_url, lambda conn: store.cancel_job(conn, job.identity, job.id))
        assert record["state"] == "cancelled"
        interrupt.fire(Interrupt.CANCELLED)  # what the route does for a job of its own process
        thread.join(60)
    finally:
        lock.rollback()
        lock.close()
    assert outcome == ["cancelled"]
    row = job_row(fresh_db_url, job.id)
    assert row["state"] == "cancelled" and row["proposal_id"] is None
    with psycopg.connect(fresh_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM proposals").fetchone()[0] == 0


def test_jobs_of_a_dead_runner_are_reaped_and_a_live_ones_are_not(fresh_db_url: str, tmp_path: Path) -> None:
    editor = user(fresh_db_url)
    path = write("geojson", tmp_path / "in", parcels(1))
    with psycopg.connect(fresh_db_url, autocommit=True) as alive:
        alive.execute("SELECT pg_advisory_lock(%s, 7)", (store.JOB_LOCK_CLASS,))
        live = queue(fresh_db_url, editor, path, tmp_path, runner=7)
        dead = queue(fresh_db_url, editor, path, tmp_path, runner=8)
        assert run(fresh_db_url, lambda conn: store.read_job(conn, editor, live.id))["state"] == "queued"
        reaped = run(fresh_db_url, lambda conn: store.read_job(conn, editor, dead.id))
        assert reaped["state"] == "failed" and reaped["finished_at"] is not None
        assert reaped["report"]["errors"][0]["title"] == "Interrupted"
        assert run_job(fresh_db_url, dead, Interrupt()) == "cancelled", "a reaped job never starts"
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:  # runner 7's connection is gone now
        assert store.reap(conn, editor) == [live.id]


def test_editors_see_only_their_own_jobs(fresh_db_url: str, tmp_path: Path) -> None:
    author, other, approver = user(fresh_db_url), user(fresh_db_url), user(fresh_db_url, Role.approver)
    job = queue(fresh_db_url, author, write("geojson", tmp_path / "in", parcels(1)), tmp_path)
    assert run(fresh_db_url, lambda conn: store.read_job(conn, other, job.id)) is None
    assert run(fresh_db_url, lambda conn: store.cancel_job(conn, other, job.id)) is None
    assert run(fresh_db_url, lambda conn: store.read_job(conn, approver, job.id))["author"] == author.user
    with pytest.raises(Exception, match="permission denied for table import_jobs"):
        run(fresh_db_url, lambda conn: store.create_job(conn, Identity(author.user, Role.viewer), "parcels",
                                                         "x.geojson", {}, 1))
