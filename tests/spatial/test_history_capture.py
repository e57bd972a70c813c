"""The database records every change to a plan feature (migration 0014): plain SQL as another login role, a change
made as a LAPIS caller, deletes, TRUNCATE and bulk loads (in place and built aside) each leave the expected versions
with the right who, when and transaction — and the history itself refuses to be changed, by every role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
import shapely

from spatial.identity.model import Identity, Role
from spatial.io.loader import LoadOptions, load
from spatial.layers import LAYERS
from spatial.session import as_caller_sync
from tests.spatial.io.files import shapefile, squares

APP_ROLES = ("lapis_app", "lapis_reader", "lapis_editor", "lapis_approver", "lapis_admin")
VERSIONS = """
SELECT version, valid_from, operation, txid, who, db_role, proposal, reason, ST_AsBinary(geom), name_vi
FROM history.{layer} WHERE id = %s ORDER BY version
"""
NEW_CENTRE = shapely.MultiPolygon([shapely.box(106.38, 10.50, 106.44, 10.56)])


def versions(conn: psycopg.Connection, layer: str, feature_id: int) -> list[dict[str, Any]]:
    keys = ("version", "valid_from", "operation", "txid", "who", "db_role", "proposal", "reason", "wkb", "name_vi")
    rows = conn.execute(VERSIONS.format(layer=layer), (feature_id,)).fetchall()  # type: ignore[arg-type]
    return [dict(zip(keys, (bytes(v) if k == "wkb" and v is not None else v for k, v in zip(keys, r, strict=True)),
                     strict=True)) for r in rows]


def feature_id(conn: psycopg.Connection, layer: str, code: str) -> int:
    return conn.execute(f"SELECT id FROM {layer} WHERE code = %s", (code,)).fetchone()[0]  # type: ignore[index]


STEWARD_PASSWORD = "steward-test-password"  # the cluster asks every login for a SCRAM password (issue 12)


def login_role(admin: psycopg.Connection, name: str, *groups: str, inherit: bool = True) -> None:
    """A login role of the cluster (roles are cluster-wide: made once per test session's cluster), with the password
    STEWARD_PASSWORD."""
    if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is None:
        admin.execute(psycopg.sql.SQL("CREATE ROLE {} LOGIN {} PASSWORD {}").format(
            psycopg.sql.Identifier(name), psycopg.sql.SQL("INHERIT" if inherit else "NOINHERIT"),
            psycopg.sql.Literal(STEWARD_PASSWORD)))
    for group in groups:
        admin.execute(psycopg.sql.SQL("GRANT {} TO {}").format(psycopg.sql.Identifier(group),
                                                                psycopg.sql.Identifier(name)))


def test_an_update_in_plain_sql_by_another_login_role(fresh_db_url: str) -> None:
    """A steward edits a zone from QGIS (its own login role, straight SQL): the old version ends, the new one begins
    at the transaction's time, and both geometries are kept exactly."""
    with psycopg.connect(fresh_db_url, autocommit=True) as admin:
        login_role(admin, "qgis_steward", "lapis_approver")
        centre = feature_id(admin, "zones", "C1")
        old_wkb = bytes(admin.execute("SELECT ST_AsBinary(geom) FROM zones WHERE id = %s", (centre,)).fetchone()[0])
    with psycopg.connect(fresh_db_url, user="qgis_steward", password=STEWARD_PASSWORD) as steward:
        began, txid = steward.execute("SELECT now(), pg_current_xact_id()::text::bigint").fetchone()
        steward.execute("UPDATE zones SET geom = ST_GeomFromWKB(%s, 4326), name_vi = name_vi || ' (mới)' "
                        "WHERE id = %s", (shapely.to_wkb(NEW_CENTRE), centre))
        steward.commit()
    with psycopg.connect(fresh_db_url) as conn:
        history = versions(conn, "zones", centre)
    assert [v["operation"] for v in history] == ["insert", "update"]
    old, new = history
    assert old["wkb"] == old_wkb and new["wkb"] == shapely.to_wkb(NEW_CENTRE)
    assert new["name_vi"].endswith(" (mới)") and not old["name_vi"].endswith(" (mới)")
    assert (new["who"], new["db_role"], new["valid_from"], new["txid"]) == ("qgis_steward", "qgis_steward", began, txid)
    assert new["proposal"] is None and new["reason"] is None
    assert old["valid_from"] < new["valid_from"]


def test_a_change_as_a_lapis_caller_records_the_user_proposal_and_reason(fresh_db_url: str) -> None:
    alice = Identity("alice", Role.approver, proposal=7, reason="ranh giới theo QĐ 686")
    with psycopg.connect(fresh_db_url) as conn:
        axis = feature_id(conn, "axes", "TDL1")
        with as_caller_sync(conn, alice):
            conn.execute("UPDATE axes SET roads = 'QL1, ĐT830' WHERE id = %s", (axis,))
        last = versions(conn, "axes", axis)[-1]
    assert (last["operation"], last["who"], last["db_role"], last["proposal"], last["reason"]) == (
        "update", "alice", "lapis_approver", 7, "ranh giới theo QĐ 686")


def test_a_delete_and_a_truncate_are_versions(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url) as conn:
        project = feature_id(conn, "projects", "DA-QL62")
        txid = conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()[0]
        conn.execute("DELETE FROM projects WHERE id = %s", (project,))
        conn.commit()
        deleted = versions(conn, "projects", project)[-1]
        assert (deleted["operation"], deleted["txid"], deleted["wkb"], deleted["who"]) == ("delete", txid, None,
                                                                                          "lapis")
        left = [r[0] for r in conn.execute("SELECT id FROM projects").fetchall()]
        conn.execute("TRUNCATE projects")
        conn.commit()
        assert all(versions(conn, "projects", i)[-1]["operation"] == "delete" for i in left)
        assert len(versions(conn, "projects", project)) == 2  # already gone: nothing more about it


def test_an_update_that_changes_nothing_is_no_version(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url) as conn:
        before = conn.execute("SELECT count(*) FROM history.zones").fetchone()[0]
        conn.execute("UPDATE zones SET name_vi = name_vi, geom = geom")
        conn.execute("UPDATE zones SET updated_at = now() - interval '1 day'")  # only the time it last changed
        assert conn.execute("SELECT count(*) FROM history.zones").fetchone()[0] == before
        conn.execute("UPDATE zones SET name_en = 'Centre' WHERE code = 'C1'")
        assert conn.execute("SELECT count(*) FROM history.zones").fetchone()[0] == before + 1


@pytest.mark.parametrize("bulk_threshold", [50_000, 10], ids=["in place", "built aside"])
def test_a_bulk_replace_load_deletes_the_old_features_and_inserts_the_new(fresh_db_url: str, tmp_path: Path,
                                                                           bulk_threshold: int) -> None:
    first = shapefile(tmp_path / "a.shp", squares(30), [f"a{i}" for i in range(30)], cpg="UTF-8")
    second = shapefile(tmp_path / "b.shp", squares(20, y0=10.7), [f"b{i}" for i in range(20)], cpg="UTF-8")
    load(fresh_db_url, first, LoadOptions(layer="parcels", mode="append"))
    with psycopg.connect(fresh_db_url) as conn:
        old = {r[0]: r[1] for r in conn.execute("SELECT id, ST_AsBinary(geom) FROM parcels").fetchall()}
    report = load(fresh_db_url, second, LoadOptions(layer="parcels", mode="replace", bulk_threshold=bulk_threshold))
    assert report.built_aside is (bulk_threshold == 10)
    with psycopg.connect(fresh_db_url) as conn:
        new = {r[0]: r[1] for r in conn.execute("SELECT id, ST_AsBinary(geom) FROM parcels").fetchall()}
        assert len(old) == 30 and len(new) == 20 and not set(old) & set(new)
        gone = {i: versions(conn, "parcels", i) for i in old}
        came = {i: versions(conn, "parcels", i) for i in new}
    assert all([v["operation"] for v in h] == ["insert", "delete"] for h in gone.values())
    assert all([v["operation"] for v in h] == ["insert"] for h in came.values())
    assert all(h[0]["wkb"] == bytes(old[i]) for i, h in gone.items())
    assert all(h[0]["wkb"] == bytes(new[i]) for i, h in came.items())
    stamps = {(h[-1]["txid"], h[-1]["valid_from"], h[-1]["who"]) for h in (*gone.values(), *came.values())}
    assert len(stamps) == 1 and next(iter(stamps))[2] == "lapis"  # one transaction: the load's, by its role


def test_a_load_with_history_off_records_nothing(fresh_db_url: str, tmp_path: Path) -> None:
    """The history bench's "off" run: the layer's history triggers disabled; a load built aside follows them."""
    path = shapefile(tmp_path / "a.shp", squares(12), [f"a{i}" for i in range(12)], cpg="UTF-8")
    with psycopg.connect(fresh_db_url) as conn:
        conn.execute("ALTER TABLE parcels DISABLE TRIGGER parcels_history_insert, "
                     "DISABLE TRIGGER parcels_history_delete")
    report = load(fresh_db_url, path, LoadOptions(layer="parcels", mode="replace", bulk_threshold=10))
    with psycopg.connect(fresh_db_url) as conn:
        assert report.built_aside and conn.execute("SELECT count(*) FROM parcels").fetchone()[0] == 12
        assert conn.execute("SELECT count(*) FROM history.parcels").fetchone()[0] == 0
        disabled = conn.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'parcels'::regclass "
                                "AND tgname LIKE 'parcels_history_%' AND tgenabled = 'D'").fetchone()[0]
        assert disabled == 2  # the switch kept the triggers as they were


@pytest.mark.parametrize("role", APP_ROLES)
def test_the_history_refuses_every_change_by_the_app_and_steward_roles(fresh_db_url: str, role: str) -> None:
    with psycopg.connect(fresh_db_url, autocommit=True) as admin:
        if role == "lapis_app":  # the app's login role: NOINHERIT, a member of the four groups (shared contract)
            login_role(admin, role, "lapis_reader", "lapis_editor", "lapis_approver", "lapis_admin", inherit=False)
    statements = ("UPDATE history.zones SET reason = 'rewritten'", "DELETE FROM history.zones",
                  "TRUNCATE history.zones",
                  "INSERT INTO history.zones (valid_from, operation, txid, who, db_role, id) "
                  "VALUES (now(), 'insert', 1, 'forger', 'forger', 1)")
    with psycopg.connect(fresh_db_url) as conn:
        before = conn.execute("SELECT count(*), max(version) FROM history.zones").fetchone()
        for statement in statements:
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(psycopg.sql.SQL("SET LOCAL ROLE {}").format(psycopg.sql.Identifier(role)))
                conn.execute(statement)  # type: ignore[arg-type]
        if role != "lapis_app":  # the groups read it (lapis_app itself holds nothing: it must SET ROLE)
            with conn.transaction():
                conn.execute(psycopg.sql.SQL("SET LOCAL ROLE {}").format(psycopg.sql.Identifier(role)))
                assert conn.execute("SELECT count(*) FROM history.zones").fetchone()[0] == before[0]
        assert conn.execute("SELECT count(*), max(version) FROM history.zones").fetchone() == before


def test_the_owner_cannot_rewrite_the_history_either(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url) as conn:
        for statement in ("UPDATE history.parcels SET reason = 'x'", "DELETE FROM history.zones WHERE false",
                          "TRUNCATE history.axes"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"), conn.transaction():
                conn.execute(statement)  # type: ignore[arg-type]


def test_every_plan_table_has_a_history_with_all_its_columns(db_url: str) -> None:
    """A migration that adds a column to a plan table must add it to its history table too."""
    own = """SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
             WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''"""
    with psycopg.connect(db_url) as conn:
        for layer in LAYERS:
            plan = set(conn.execute(own, (f"public.{layer}",)).fetchall())
            kept = set(conn.execute(own, (f"history.{layer}",)).fetchall())
            assert plan and plan <= kept, (layer, plan - kept)
            triggers = {r[0] for r in conn.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass "
                                                   "AND tgenabled <> 'D'", (layer,)).fetchall()}
            assert {f"{layer}_history_{e}" for e in ("insert", "update", "delete", "truncate")} <= triggers
            capture = conn.execute("SELECT prosrc FROM pg_proc WHERE oid = %s::regproc",
                                   (f"history.capture_{layer}",)).fetchone()[0]
            assert all(f"n.{name}" in capture for name, _ in plan), layer  # `history.install` was run again
