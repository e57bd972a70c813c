"""`POST /collections/{id}/imports` and `GET /jobs/{id}` over HTTP: the role matrix, the job's URL and its end
(a proposal with the file's features), the refusals that come at once (413 past each limit, 415, 400 naming the
option, 404), who may read a job, cancelling, and a full queue (503)."""

from __future__ import annotations

import os
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from spatial.identity.model import Role
from tests.helpers import assert_problem, make_settings
from tests.identity_fixtures import bearer, token_for
from tests.upload_files import bomb, many_members, parcels, write

LIMIT = 2 << 20
FINISHED = ("succeeded", "failed", "cancelled")


@pytest.fixture(scope="module")
def url(make_database: Callable[[], str]) -> str:
    return make_database()


@pytest.fixture(scope="module")
def client(url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(url, tmp_path_factory.mktemp("imports"), upload_max_bytes=LIMIT, upload_max_members=20,
                             upload_max_extracted_bytes=1 << 20, import_max_queued=2)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def tokens(url: str) -> dict[str, str]:
    return {role.value: token_for(url, role) for role in (Role.viewer, Role.editor, Role.approver, Role.admin)} | {
        "other_editor": token_for(url, Role.editor)}


def upload(client: TestClient, token: str | None, path: Path, collection: str = "parcels", name: str | None = None,
           **fields: str) -> Any:
    headers = bearer(token) if token else {}
    with path.open("rb") as f:
        return client.post(f"/collections/{collection}/imports", headers=headers, data=fields,
                           files={"file": (name or path.name, f, "application/octet-stream")})


def finished(client: TestClient, token: str, location: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(location, headers=bearer(token)).json()
        if job["state"] in FINISHED:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_role_matrix(client: TestClient, tokens: dict[str, str], tmp_path: Path) -> None:
    path = write("geojson", tmp_path, parcels(2, prefix="ROLE"))
    assert_problem(upload(client, None, path, dry_run="true"), 401, "Authorization")
    assert_problem(upload(client, tokens["viewer"], path, dry_run="true"), 403)
    for role in ("editor", "approver", "admin"):
        response = upload(client, tokens[role], path, dry_run="true")
        assert response.status_code == 202, (role, response.text)
        assert finished(client, tokens[role], response.headers["location"])["state"] == "succeeded", role


def test_an_upload_becomes_a_proposal(client: TestClient, tokens: dict[str, str], url: str, tmp_path: Path) -> None:
    path = write("shp-zip", tmp_path, parcels(12, prefix="HTTP"))
    response = upload(client, tokens["editor"], path, mode="upsert", mapping='{"ten": "name_vi"}')
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"http://testserver/jobs/{job['id']}"
    assert "no-store" in response.headers["cache-control"]
    assert job["state"] == "queued" and job["filename"] == "parcels.zip" and job["collection"] == "parcels"
    assert job["options"]["mode"] == "upsert" and job["options"]["mapping"] == {"ten": "name_vi"}
    done = finished(client, tokens["editor"], response.headers["location"])
    assert done["state"] == "succeeded", done
    assert done["report"]["loaded"] == 12 and done["report"]["sources"][0]["encoding"] == "tcvn3"
    assert done["progress"]["rows_done"] == 12 and done["progress"]["phase"] == "commit"
    proposal = done["proposal"]["id"]
    assert done["proposal"]["href"] == f"http://testserver/proposals/{proposal}"
    assert {"rel": "proposal", "type": "application/json", "href": done["proposal"]["href"]} in done["links"]
    with psycopg.connect(url) as conn:
        ops = conn.execute("SELECT op, count(*) FROM proposal_changes WHERE proposal_id = %s GROUP BY op",
                           (proposal,)).fetchall()
        names = [r[0] for r in conn.execute("SELECT properties ->> 'name_vi' FROM proposal_changes "
                                            "WHERE proposal_id = %s ORDER BY id LIMIT 2", (proposal,))]
        published = conn.execute("SELECT count(*) FROM parcels WHERE code LIKE 'HTTP-%'").fetchone()[0]
    assert ops == [("create", 12)] and names == ["Thành phố Tân An", "Thị xã Kiến Tường"]
    assert published == 0, "a proposal until an approver publishes it"
    assert client.get("/collections/parcels/items?code=HTTP-1").json()["numberReturned"] == 0
    assert_problem(client.post(f"/jobs/{job['id']}/cancel", headers=bearer(tokens["editor"])), 409, "jobId")


def test_who_may_read_a_job(client: TestClient, tokens: dict[str, str], tmp_path: Path) -> None:
    response = upload(client, tokens["editor"], write("fgb", tmp_path, parcels(1, prefix="SEE")), dry_run="1")
    location = response.headers["location"]
    finished(client, tokens["editor"], location)
    assert_problem(client.get(location), 401)
    assert_problem(client.get(location, headers=bearer(tokens["viewer"])), 403)
    assert_problem(client.get(location, headers=bearer(tokens["other_editor"])), 404, "jobId")
    assert_problem(client.post(f"{location}/cancel", headers=bearer(tokens["other_editor"])), 404, "jobId")
    for role in ("editor", "approver", "admin"):
        assert client.get(location, headers=bearer(tokens[role])).status_code == 200, role
    assert_problem(client.get("/jobs/999999", headers=bearer(tokens["admin"])), 404)


def test_limits_are_refused_before_anything_is_queued(client: TestClient, tokens: dict[str, str],
                                                       tmp_path: Path) -> None:
    editor = tokens["editor"]
    big = tmp_path / "big.geojson"
    big.write_bytes(b" " * (LIMIT + 1))
    assert_problem(upload(client, editor, big), 413, "file")
    # without a Content-Length (chunked): the limit holds while the body streams in
    chunks = iter([b"x" * (1 << 20)] * 3)
    response = client.post("/collections/parcels/imports", content=chunks, headers={
        **bearer(editor), "Content-Type": "multipart/form-data; boundary=b"})
    assert_problem(response, 413, "file")
    members = assert_problem(upload(client, editor, many_members(tmp_path / "many.zip", 21)), 413, "file")
    assert "21 members, more than the 20 allowed" in members["detail"]
    zipped = assert_problem(upload(client, editor, bomb(tmp_path / "bomb.zip", megabytes=1)), 413, "file")
    assert "zip bomb" in zipped["detail"] and str(tmp_path) not in zipped["detail"]
    with zipfile.ZipFile(tmp_path / "wide.zip", "w") as zf:  # stored, not compressed: past the extracted bytes
        zf.writestr("a.geojson", os.urandom(700_000))
        zf.writestr("b.geojson", os.urandom(700_000))
    wide = assert_problem(upload(client, editor, tmp_path / "wide.zip"), 413, "file")
    assert "bytes uncompressed" in wide["detail"]


def test_bad_requests_are_refused_at_once(client: TestClient, tokens: dict[str, str], tmp_path: Path) -> None:
    editor = tokens["editor"]
    path = write("geojson", tmp_path, parcels(1, prefix="BAD"))
    assert_problem(upload(client, editor, path, collection="nowhere"), 404)
    assert_problem(upload(client, editor, path, collection="admin_units"), 403)  # reference data, as for edits
    assert_problem(upload(client, editor, path, name="parcels.txt"), 415, "file")
    assert_problem(upload(client, editor, path, name="parcels.zip"), 400, "file")
    for field, value in (("mode", "merge"), ("key", "nope"), ("encoding", "ebcdic"), ("crs", "EPSG:0"),
                         ("mapping", "{not json"), ("mapping", "[1]"), ("dry_run", "maybe"), ("colour", "red")):
        assert_problem(upload(client, editor, path, **{field: value}), 400, field)
    response = client.post("/collections/parcels/imports", headers=bearer(editor), data={"mode": "append"},
                           files={"other": ("x.geojson", b"{}")})
    assert_problem(response, 400, "file")
    response = client.post("/collections/parcels/imports", headers={**bearer(editor),
                           "Content-Type": "application/geo+json"}, content=path.read_bytes())
    assert_problem(response, 415, "Content-Type")
    empty = tmp_path / "empty.geojson"
    empty.write_bytes(b"")
    assert_problem(upload(client, editor, empty), 400, "file")
    # a name without an extension: the format is found from the first bytes
    response = upload(client, editor, write("gpkg", tmp_path, parcels(1, prefix="NONAME")), name="export",
                      dry_run="true")
    assert response.status_code == 202 and response.json()["filename"] == "export.gpkg"
    finished(client, editor, response.headers["location"])


def test_a_full_queue_is_503_and_a_queued_job_can_be_cancelled(client: TestClient, tokens: dict[str, str],
                                                               url: str, tmp_path: Path) -> None:
    editor = tokens["editor"]
    files = [write("geojson", tmp_path / str(i), parcels(3, prefix=f"QUEUE{i}")) for i in range(4)]
    # the first job waits at its last step (its INSERT into proposal_changes): one worker, two places queued
    with psycopg.connect(url) as lock:
        lock.execute("LOCK TABLE proposal_changes IN SHARE MODE")
        locations = [upload(client, editor, path).headers["location"] for path in files[:3]]
        busy = assert_problem(upload(client, editor, files[3]), 503)
        assert busy["title"] == "Server busy"
        cancelled = client.post(f"{locations[2]}/cancel", headers=bearer(editor))
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        lock.rollback()
    states = [finished(client, editor, location)["state"] for location in locations]
    assert states == ["succeeded", "succeeded", "cancelled"]
