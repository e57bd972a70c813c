"""A big replace is built aside and switched in (`spatial.io.shadow`): afterwards the layer is the same table to
Alembic, the app and every client — names, definitions, grants, ids that go on — with one new version."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import psycopg
import pytest

from spatial.io import shadow
from spatial.io.errors import LoadError
from spatial.io.loader import LoadOptions, load
from spatial.io.phases import silent
from spatial.io.shadow import SHADOW_PREFIX
from tests.helpers import snapshot
from tests.spatial.io.files import shapefile, squares

CATALOG = {
    "columns": """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, a.attgenerated,
               pg_get_expr(d.adbin, d.adrelid), a.attstorage, a.attcompression, a.attstattarget, a.attcollation
        FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = %(t)s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum""",
    "constraints": """
        SELECT conname, contype, pg_get_constraintdef(oid), convalidated, condeferrable, condeferred
        FROM pg_constraint WHERE conrelid = %(t)s::regclass ORDER BY conname""",
    "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %(t)s ORDER BY indexname",
    "triggers": """
        SELECT tgname, pg_get_triggerdef(oid), tgenabled FROM pg_trigger
        WHERE tgrelid = %(t)s::regclass AND NOT tgisinternal ORDER BY tgname""",
    "foreign key triggers": """
        SELECT count(*), count(*) FILTER (WHERE tgrelid = 'plans'::regclass) FROM pg_trigger t
        JOIN pg_constraint c ON c.oid = t.tgconstraint WHERE c.conrelid = %(t)s::regclass""",
    "sequence": """
        SELECT s.schemaname, s.sequencename, s.data_type, s.increment_by, s.min_value, s.max_value, s.cache_size,
               s.cycle, s.sequenceowner
        FROM pg_sequences s
        WHERE format('%%I.%%I', s.schemaname, s.sequencename) = pg_get_serial_sequence(%(t)s, 'id')""",
    "table": """
        SELECT c.relkind, c.relpersistence, c.relowner::regrole::text, c.reloptions, obj_description(c.oid, 'pg_class'),
               c.relrowsecurity, n.nspname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = %(t)s::regclass""",
    "grants": """
        SELECT a.grantee::regrole::text, a.privilege_type, a.is_grantable
        FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = %(t)s::regclass ORDER BY 1, 2""",
    "sequence grants": """
        SELECT a.grantee::regrole::text, a.privilege_type, a.is_grantable
        FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = pg_get_serial_sequence(%(t)s, 'id')::regclass
        ORDER BY 1, 2""",
}


def catalog(url: str, table: str) -> dict[str, list[tuple]]:
    """What Alembic, the app and clients see of a table: every definition and name the migrations made."""
    with psycopg.connect(url) as conn:
        return {name: conn.execute(query, {"t": table}).fetchall() for name, query in CATALOG.items()}


def shadows(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT relname FROM pg_class WHERE starts_with(relname, %s)",
                                           (SHADOW_PREFIX,))]


def test_bulk_replace_keeps_every_name_and_definition(fresh_db_url: str, tmp_path: Path) -> None:
    database = fresh_db_url.rsplit("/", 1)[1]
    role = f"{database}_reader"
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role}")
        conn.execute(f"GRANT SELECT ON parcels TO {role}")
        conn.execute(f"GRANT UPDATE (name_en) ON zones TO {role}")  # another table's column grant: no matter
        conn.execute(f"GRANT USAGE ON SEQUENCE parcels_id_seq TO {role}")
        conn.execute("ALTER TABLE parcels SET (fillfactor = 90, autovacuum_analyze_scale_factor = 0.02)")
        conn.execute("COMMENT ON TABLE parcels IS 'Thửa đất'")
        conn.execute("ALTER TABLE parcels ENABLE ALWAYS TRIGGER parcels_touch")
    load(fresh_db_url, shapefile(tmp_path / "old.shp", squares(5), list("abcde"), cpg="UTF-8"),
         LoadOptions(layer="parcels"))
    with psycopg.connect(fresh_db_url) as conn:
        old_max_id = conn.execute("SELECT max(id) FROM parcels").fetchone()[0]
    before = catalog(fresh_db_url, "parcels")
    assert ("foreign key triggers", [(4, 2)]) in before.items(), "parcels → plans has its RI triggers"

    path = shapefile(tmp_path / "new.shp", squares(30), [f"p{i}" for i in range(30)], cpg="UTF-8")
    report = load(fresh_db_url, path, LoadOptions(layer="parcels", mode="replace", bulk_threshold=10))

    assert report.built_aside and report.committed and (report.inserted, report.deleted) == (30, 5)
    after = catalog(fresh_db_url, "parcels")
    for part in CATALOG:
        assert after[part] == before[part], part
    assert shadows(fresh_db_url) == []
    with psycopg.connect(fresh_db_url) as conn:
        ids = conn.execute("SELECT min(id), max(id), count(*) FROM parcels").fetchone()
        version = conn.execute("SELECT version FROM layer_versions WHERE layer = 'parcels'").fetchone()[0]
        estimate = conn.execute("SELECT reltuples FROM pg_class WHERE oid = 'parcels'::regclass").fetchone()[0]
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO parcels (code, name_vi, geom) SELECT code, name_vi, geom FROM parcels LIMIT 1")
        conn.rollback()
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("UPDATE parcels SET plan_id = -1 WHERE id = %s", (ids[0],))
        conn.rollback()
        conn.execute("UPDATE parcels SET name_vi = 'Thửa mới' WHERE id = %s", (ids[0],))
        touched = conn.execute("SELECT updated_at > created_at FROM parcels WHERE id = %s", (ids[0],)).fetchone()[0]
    assert ids[0] > old_max_id and ids[2] == 30, "ids go on from the old table's sequence: none is reused"
    assert version == report.txid, "the switch stamps the layer's version with the load's transaction"
    assert estimate == 30, "the new table was analyzed before it was switched in"
    assert touched, "the row triggers are back"


def test_a_leftover_shadow_is_dropped_by_the_next_load(fresh_db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {SHADOW_PREFIX}parcels (junk text)")
    path = shapefile(tmp_path / "p.shp", squares(12), [f"p{i}" for i in range(12)], cpg="UTF-8")
    report = load(fresh_db_url, path, LoadOptions(layer="parcels", mode="replace", bulk_threshold=10))
    assert report.built_aside and shadows(fresh_db_url) == []


def test_a_layer_other_tables_refer_to_is_replaced_in_place(fresh_db_url: str, tmp_path: Path) -> None:
    """`plans` is referenced by every spatial layer's plan_id: swapping it would orphan their foreign keys, so a
    big replace of it writes in place (DELETE + INSERT), which blocks no reader either."""
    path = tmp_path / "plans.geojson"
    features = [{"type": "Feature", "geometry": None, "properties": {"code": f"PL{i}", "name_vi": f"Quy hoạch {i}"}}
                for i in range(12)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    before = catalog(fresh_db_url, "plans")
    report = load(fresh_db_url, path, LoadOptions(layer="plans", mode="replace", bulk_threshold=10))
    assert not report.built_aside and (report.inserted, report.deleted) == (12, 1)
    assert catalog(fresh_db_url, "plans") == before


def test_the_switch_waits_for_a_long_reader_without_queueing_the_others(fresh_db_url: str, tmp_path: Path) -> None:
    """A reader holding the layer for 1.5 s delays the switch; meanwhile other readers, who may wait for a lock
    at most 200 ms, all get through: the loader never sits in the lock queue for longer than its lock_timeout."""
    path = shapefile(tmp_path / "p.shp", squares(20), [f"p{i}" for i in range(20)], cpg="UTF-8")
    held = threading.Event()
    hold_s = 1.5

    def long_reader() -> None:
        with psycopg.connect(fresh_db_url) as conn:  # one transaction: its ACCESS SHARE lasts until commit
            conn.execute("SELECT count(*) FROM parcels").fetchone()
            held.set()
            time.sleep(hold_s)

    thread = threading.Thread(target=long_reader)
    thread.start()
    assert held.wait(10)
    started = time.monotonic()
    result: dict[str, object] = {}
    loader = threading.Thread(target=lambda: result.update(report=load(
        fresh_db_url, path, LoadOptions(layer="parcels", mode="replace", bulk_threshold=10))))
    loader.start()
    waits = []
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '200ms'")
        while loader.is_alive():
            t0 = time.perf_counter()
            conn.execute("SELECT count(*) FROM parcels").fetchone()  # LockNotAvailable fails the test
            waits.append(time.perf_counter() - t0)
            time.sleep(0.01)
    loader.join()
    thread.join()
    assert result["report"].built_aside  # type: ignore[attr-defined]
    assert time.monotonic() - started >= hold_s - 0.2, "the switch waited for the long reader"
    assert len(waits) > 20 and max(waits) < 0.5, (len(waits), max(waits))
    assert snapshot(fresh_db_url, "parcels")[0] == 20


def test_a_switch_that_never_finds_a_gap_gives_up_and_changes_nothing(fresh_db_url: str) -> None:
    """A reader that holds the layer longer than the switch is willing to wait: the load fails with a clear
    error, rolled back — no half-switched layer, no shadow left."""
    before = snapshot(fresh_db_url, "parcels")
    with psycopg.connect(fresh_db_url) as reader:
        reader.execute("SELECT count(*) FROM parcels").fetchone()  # ACCESS SHARE until this transaction ends
        with (psycopg.connect(fresh_db_url) as conn, pytest.raises(LoadError, match="other sessions kept reading"),
              conn.transaction()):
            shadow.lock_writers(conn, "parcels")
            aside = shadow.create(conn, "parcels")
            shadow.build_indexes(conn, aside, silent)
            shadow.switch(conn, aside, silent, give_up_s=0.5)
    assert snapshot(fresh_db_url, "parcels") == before
    assert shadows(fresh_db_url) == []
