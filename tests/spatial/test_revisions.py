"""Plan revisions in the database (migration 0015): the bundled plan becomes revision 1 exactly once — by the seed on
a new database, by the migration on one already loaded — and the roles may do what the contract says: readers read
revisions, approvers record them, nobody the app acts as changes or removes one."""

from __future__ import annotations

import psycopg
import pytest

from spatial import migrate
from spatial.history.revisions import BUNDLED
from spatial.seed import seed
from tests.helpers import BUNDLED_DATA

ROW = "SELECT id, name, legal_basis, decided_on, note, published_at FROM revisions ORDER BY id"


def test_the_seed_records_the_bundled_plan_once(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url) as conn:
        before = conn.execute(ROW).fetchall()
        newest = conn.execute("SELECT max(valid_from) FROM history.zones").fetchone()[0]
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in before] == [
        (1, BUNDLED.name, "Decision 686/QĐ-TTg, 13/06/2023", BUNDLED.decided_on, BUNDLED.note)]
    assert before[0][5] >= newest  # the seeded plan is the plan at revision 1's instant
    seed(fresh_db_url, BUNDLED_DATA)
    with psycopg.connect(fresh_db_url) as conn:
        assert conn.execute(ROW).fetchall() == before


def test_the_migration_records_a_plan_loaded_before_it(fresh_db_url: str) -> None:
    migrate.downgrade(fresh_db_url, "0014")
    with psycopg.connect(fresh_db_url) as conn:
        assert conn.execute("SELECT to_regclass('revisions')").fetchone()[0] is None
    migrate.upgrade(fresh_db_url)
    with psycopg.connect(fresh_db_url) as conn:
        rows = conn.execute(ROW).fetchall()
        newest = conn.execute("SELECT max(valid_from) FROM history.zones").fetchone()[0]
        brin = conn.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'history' "
                            "AND indexdef LIKE '%USING brin (valid_from)%'").fetchone()[0]
    assert [(r[0], r[2]) for r in rows] == [(1, "Decision 686/QĐ-TTg, 13/06/2023")] and rows[0][5] >= newest
    assert brin == 8


def test_readers_read_and_approvers_record_revisions(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute("SET ROLE lapis_reader")
        assert conn.execute("SELECT count(*) FROM revisions").fetchone()[0] == 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO revisions (name, legal_basis, created_by) VALUES ('x', 'y', 'z')")
        conn.execute("RESET ROLE; SET ROLE lapis_approver")
        conn.execute("INSERT INTO revisions (name, legal_basis, created_by) VALUES ('x', 'y', 'z')")
        for role in ("lapis_approver", "lapis_admin"):
            conn.execute(f"RESET ROLE; SET ROLE {role}")
            for statement in ("UPDATE revisions SET note = 'changed'", "DELETE FROM revisions"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
        conn.execute("RESET ROLE")
        assert conn.execute("SELECT count(*), count(note) FROM revisions").fetchone() == (2, 1)


def test_names_are_unique_and_texts_normalised(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():
            conn.execute("INSERT INTO revisions (name, legal_basis, created_by) VALUES (%s, 'y', 'z')",
                         (BUNDLED.name,))
        decomposed = "Quye\u0302\u0301t đi\u0323nh"  # Quyết định, its marks apart
        with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
            conn.execute("INSERT INTO revisions (name, legal_basis, created_by) VALUES ('x', %s, 'z')",
                         (decomposed,))
