"""Proposals against a real database: changes wait outside the plan tables, row-level security decides who sees
which, publishing applies all of a proposal or none of it, and the database's own rules refuse a bad row when it
is proposed."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from spatial.edits.changes import ChangeResult, Edit, propose_change
from spatial.edits.etag import etag_sql
from spatial.edits.proposals import (
    changed_features,
    get_proposal,
    list_proposals,
    open_proposal,
    open_proposal_sync,
    publish,
    reject,
)
from spatial.errors import Conflict, Forbidden, InvalidParameter, NotFound, PreconditionFailed
from spatial.identity.model import Identity, Role
from spatial.layers import LAYERS
from spatial.session import as_caller_sync
from tests.edit_fixtures import zone
from tests.helpers import run

LAN = Identity("lan", Role.editor)
MINH = Identity("minh", Role.editor)
THU = Identity("thu", Role.approver)
ZONES = LAYERS["zones"]


def published(url: str, code: str) -> dict[str, Any] | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT id, name_vi, name_en, kind FROM zones WHERE code = %s", (code,)).fetchone()
    return None if row is None else dict(zip(("id", "name_vi", "name_en", "kind"), row, strict=True))


def etag_of(url: str, code: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT {etag_sql(ZONES, 't')} FROM zones t WHERE code = %s", (code,)).fetchone()[0]


def propose(url: str, who: Identity, edit: Edit, proposal: int | None = None) -> ChangeResult:
    return run(url, lambda conn: propose_change(conn, who, edit, proposal))


def test_a_proposal_waits_until_published(fresh_db_url: str) -> None:
    url = fresh_db_url
    created = propose(url, LAN, Edit("create", ZONES, body=zone("Z-NEW")))
    tag = f'"{etag_of(url, "C1")}"'
    changed = propose(url, LAN, Edit("update", ZONES, published(url, "C1")["id"],
                                     {"properties": {"name_en": "Tan An centre (new)"}}, if_match=tag))
    assert created.proposal_id == changed.proposal_id  # the caller's open proposal took both
    assert created.op == "create" and changed.op == "update"
    assert published(url, "Z-NEW") is None and published(url, "C1")["name_en"] != "Tan An centre (new)"

    done = run(url, lambda conn: publish(conn, created.proposal_id, THU))
    assert done.proposal.state == "published" and done.proposal.decided_by == "thu"
    assert done.proposal.decided_at is not None
    assert done.applied["zones"].created == 1 and done.applied["zones"].changed == 1
    assert published(url, "Z-NEW") == {"id": created.feature_id, "name_vi": "Khu Z-NEW", "name_en": None,
                                       "kind": "urban"}
    assert published(url, "C1")["name_en"] == "Tan An centre (new)"
    # the version the preview showed is the published one: a client can go on editing with it
    assert etag_of(url, "Z-NEW") == created.etag and etag_of(url, "C1") == changed.etag
    with pytest.raises(Conflict, match="published"):
        run(url, lambda conn: publish(conn, created.proposal_id, THU))


def test_row_level_security(fresh_db_url: str) -> None:
    url = fresh_db_url
    mine = propose(url, LAN, Edit("create", ZONES, body=zone("Z-LAN")))
    theirs = propose(url, MINH, Edit("create", ZONES, body=zone("Z-MINH", lon=106.45)))
    assert [p.id for p in run(url, lambda c: list_proposals(c, LAN))] == [mine.proposal_id]
    assert {p.id for p in run(url, lambda c: list_proposals(c, THU))} == {mine.proposal_id, theirs.proposal_id}
    with pytest.raises(NotFound):
        run(url, lambda c: get_proposal(c, LAN, theirs.proposal_id))
    with pytest.raises(NotFound):  # nor may one write into another editor's proposal
        propose(url, LAN, Edit("create", ZONES, body=zone("Z-X", lon=106.47)), theirs.proposal_id)
    with pytest.raises(Forbidden):
        run(url, lambda c: publish(c, mine.proposal_id, LAN))
    with psycopg.connect(url) as conn, as_caller_sync(conn, LAN):
        # what the database itself allows an editor: no plan-table write, no publishing their own proposal
        assert conn.execute("SELECT count(*) FROM proposal_changes").fetchone()[0] == 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("UPDATE zones SET name_en = 'x' WHERE code = 'C1'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("UPDATE proposals SET state = 'published' WHERE id = %s", (mine.proposal_id,))
        assert conn.execute("UPDATE proposals SET title = 'x' WHERE id = %s",
                            (theirs.proposal_id,)).rowcount == 0
    with psycopg.connect(url) as conn, as_caller_sync(conn, Identity(None, Role.anonymous)), \
            pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT count(*) FROM proposals")


def test_publishing_is_all_or_nothing(fresh_db_url: str) -> None:
    """A feature changed behind the proposal's back (plain SQL here) makes the whole publish a 409: the other
    change of the proposal is not applied either, and the proposal stays open."""
    url = fresh_db_url
    c1, r1 = published(url, "C1"), published(url, "R1")
    first = propose(url, LAN, Edit("update", ZONES, c1["id"], {"properties": {"name_en": "one"}},
                                   if_match=f'"{etag_of(url, "C1")}"'))
    propose(url, LAN, Edit("update", ZONES, r1["id"], {"properties": {"name_en": "two"}},
                           if_match=f'"{etag_of(url, "R1")}"'))
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE zones SET name_vi = 'Sửa bằng SQL' WHERE code = 'R1'")
        version = conn.execute("SELECT version FROM layer_versions WHERE layer = 'zones'").fetchone()
    with pytest.raises(Conflict, match=f"feature\\(s\\) {r1['id']} changed"):
        run(url, lambda conn: publish(conn, first.proposal_id, THU))
    assert published(url, "C1")["name_en"] == c1["name_en"]
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version FROM layer_versions WHERE layer = 'zones'").fetchone() == version
        assert conn.execute("SELECT state FROM proposals WHERE id = %s", (first.proposal_id,)).fetchone() == ("open",)
    # a rule that refuses a row only now (its code taken meanwhile) is a 409 too, with nothing applied
    fresh = propose(url, MINH, Edit("create", ZONES, body=zone("Z-LATER", lon=106.5)))
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO zones (code, name_vi, kind, geom) SELECT 'Z-LATER', 'x', 'urban', geom "
                     "FROM zones WHERE code = 'C1'")
    with pytest.raises(Conflict, match="zones_code_key"):
        run(url, lambda conn: publish(conn, fresh.proposal_id, THU))


def test_one_pending_change_per_feature(fresh_db_url: str) -> None:
    url = fresh_db_url
    c1 = published(url, "C1")["id"]
    tag = f'"{etag_of(url, "C1")}"'
    held = propose(url, LAN, Edit("update", ZONES, c1, {"properties": {"name_en": "lan's"}}, if_match=tag))
    with pytest.raises(Conflict, match=f"proposal {held.proposal_id}"):
        propose(url, MINH, Edit("update", ZONES, c1, {"properties": {"name_en": "minh's"}}, if_match=tag))
    with pytest.raises(PreconditionFailed):  # the author's own next change must name the proposed version
        propose(url, LAN, Edit("update", ZONES, c1, {"properties": {"name_en": "again"}}, if_match=tag))
    propose(url, LAN, Edit("update", ZONES, c1, {"properties": {"name_en": "again"}}, if_match=f'"{held.etag}"'))
    rejected = run(url, lambda conn: reject(conn, held.proposal_id, THU, "not now"))
    assert rejected.state == "rejected" and rejected.decided_by == "thu" and rejected.note == "not now"
    done = propose(url, MINH, Edit("update", ZONES, c1, {"properties": {"name_en": "minh's"}}, if_match=tag))
    assert done.op == "update"  # a rejected proposal holds the feature no more


def test_rules_of_the_layer_refuse_a_row_when_proposed(fresh_db_url: str) -> None:
    url = fresh_db_url
    projects = LAYERS["projects"]
    line = {"type": "LineString", "coordinates": [[106.40, 10.53], [106.42, 10.54]]}
    bad_year = {"type": "Feature", "geometry": line,
                "properties": {"code": "P-X", "name_vi": "Dự án", "start_year": 1800}}
    with pytest.raises(InvalidParameter, match="projects_start_year_check"):
        propose(url, LAN, Edit("create", projects, body=bad_year))
    with pytest.raises(InvalidParameter, match="kind is required"):
        propose(url, LAN, Edit("create", ZONES, body=zone("Z-1", kind=None)))
    with pytest.raises(Conflict, match="zones_code_key"):
        propose(url, LAN, Edit("create", ZONES, body=zone("C1")))
    propose(url, LAN, Edit("create", ZONES, body=zone("Z-2")))
    with pytest.raises(Conflict, match="proposal"):  # a code another open proposal gives away is taken too
        propose(url, MINH, Edit("create", ZONES, body=zone("Z-2", lon=106.5)))
    rules = LAYERS["use_rules"]
    with psycopg.connect(url) as conn:
        zone_code, use = conn.execute("SELECT zone_code, use_category FROM use_rules LIMIT 1").fetchone()
    twin = {"type": "Feature", "geometry": None, "properties": {
        "code": "RULE-TWIN", "name_vi": "Quy tắc", "zone_code": zone_code, "use_category": use, "verdict": "allowed"}}
    with pytest.raises(Conflict, match="use_rules_zone_use_key"):
        propose(url, LAN, Edit("create", rules, body=twin))
    with psycopg.connect(url) as conn:  # nothing of the refused ones was written
        assert conn.execute("SELECT count(*) FROM proposal_changes").fetchone()[0] == 1


def test_changes_within_one_proposal_merge(fresh_db_url: str) -> None:
    url = fresh_db_url
    made = propose(url, LAN, Edit("create", ZONES, body=zone("Z-M")))
    patched = propose(url, LAN, Edit("update", ZONES, made.feature_id, {"properties": {"kind": "tourism"}},
                                     if_match=f'"{made.etag}"'))
    assert patched.op == "create"  # still a new feature, now with the patched values
    gone = propose(url, LAN, Edit("delete", ZONES, made.feature_id, if_match=f'"{patched.etag}"'))
    assert gone.etag is None
    with psycopg.connect(url) as conn:  # deleting a proposed feature withdraws its creation
        assert conn.execute("SELECT count(*) FROM proposal_changes").fetchone()[0] == 0
    with pytest.raises(NotFound):
        propose(url, LAN, Edit("update", ZONES, made.feature_id, {"properties": {}}, if_match="*"))
    c1 = published(url, "C1")["id"]
    deleted = propose(url, LAN, Edit("delete", ZONES, c1, if_match="*"))
    features = run(url, lambda conn: changed_features(conn, LAN, deleted.proposal_id))
    assert '"lapis:op": "delete"' in features and '"MultiPolygon"' in features  # shown with its published shape
    run(url, lambda conn: publish(conn, deleted.proposal_id, THU))
    assert published(url, "C1") is None


def test_an_import_job_can_open_a_proposal_with_psycopg(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url) as conn:
        proposal = open_proposal_sync(conn, LAN, "Nhập thửa đất")
    got, changes = run(fresh_db_url, lambda c: get_proposal(c, LAN, proposal))
    assert (got.title, got.author, got.state, changes) == ("Nhập thửa đất", "lan", "open", [])
    other = run(fresh_db_url, lambda c: open_proposal(c, LAN, "  ", "ghi chú"))
    assert other != proposal
