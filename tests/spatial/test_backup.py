"""`lapis db backup` / `lapis db restore`: the whole database comes back, byte for byte in every table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from spatial.backup import BackupError, backup, restore
from spatial.pgclient import redact, target

LAPIS = [sys.executable, "-m", "app.cli"]

# Every table of every user schema (PostGIS's spatial_ref_sys and alembic_version included), each row as text
# in a stable order; every sequence's position; every function's definition outside extensions.
TABLES = """
SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1
"""
SEQUENCES = "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences ORDER BY 1"
FUNCTIONS = """
SELECT md5(string_agg(pg_get_functiondef(p.oid), E'\\n' ORDER BY p.oid::regprocedure::text))
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.prokind = 'f'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
"""


def checksums(url: str) -> dict[str, str]:
    """name → md5 of the table's rows (or the sequence's state, or all function definitions)."""
    with psycopg.connect(url) as conn:
        sums = {}
        for (table,) in conn.execute(TABLES).fetchall():
            sums[table] = conn.execute(
                f"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') "  # noqa: S608
                f"FROM {table} t").fetchone()[0]
        for (sequence,) in conn.execute(SEQUENCES).fetchall():
            sums[sequence] = str(conn.execute(f"SELECT last_value, is_called FROM {sequence}").fetchone())  # noqa: S608
        sums["functions"] = conn.execute(FUNCTIONS).fetchone()[0]
    return sums


def run(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it; stderr with rich's line wrapping undone."""
    env = {**os.environ, "DATABASE_URL": url}
    result = subprocess.run([*LAPIS, *args], capture_output=True, text=True, env=env, timeout=180, check=False)
    result.stderr = " ".join(result.stderr.split())
    return result


def edit_every_kind_of_thing(url: str) -> None:
    """Inserts, updates and deletes in several layers, a new row in a non-layer table, a dropped function and
    a table created after the backup (a restore must remove it)."""
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO zones (code, name_vi, kind, geom) VALUES ('after-backup', 'Sau sao lưu', "
                     "'urban', ST_Multi(ST_MakeEnvelope(106.4, 10.6, 106.41, 10.61, 4326)))")
        assert conn.execute("UPDATE projects SET name_vi = name_vi || ' (sửa)'").rowcount > 0
        assert conn.execute("DELETE FROM axes WHERE id = (SELECT min(id) FROM axes)").rowcount == 1
        assert conn.execute("DELETE FROM admin_units WHERE level = 'district' AND code = "
                            "(SELECT max(code) FROM admin_units WHERE level = 'district')").rowcount == 1
        conn.execute("INSERT INTO edit_history (layer, note) VALUES ('zones', 'added after-backup')")
        conn.execute("DROP FUNCTION history_count()")
        conn.execute("CREATE TABLE after_backup (x int)")


def test_backup_change_restore_gives_back_every_table(fresh_db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(fresh_db_url) as conn:  # stand-ins for the history and users tables to come
        conn.execute("CREATE TABLE edit_history (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                     "layer text NOT NULL, note text, at timestamptz NOT NULL DEFAULT now())")
        conn.execute("INSERT INTO edit_history (layer, note) VALUES ('zones', 'seeded'), ('axes', 'seeded')")
        conn.execute("CREATE FUNCTION history_count() RETURNS bigint LANGUAGE sql "
                     "AS $$ SELECT count(*) FROM public.edit_history $$")
    at_backup = checksums(fresh_db_url)
    assert {"public.zones", "public.edit_history", "public.spatial_ref_sys", "public.alembic_version"} <= set(at_backup)

    file = tmp_path / "lapis.dump"
    made = run(["db", "backup", str(file)], fresh_db_url)
    assert made.returncode == 0, made.stderr
    assert file.stat().st_size > 0 and not file.with_name("lapis.dump.partial").exists()

    edit_every_kind_of_thing(fresh_db_url)
    changed = checksums(fresh_db_url)
    differing = {name for name in at_backup if changed.get(name) != at_backup[name]}
    assert {"public.zones", "public.projects", "public.axes", "public.admin_units", "public.edit_history",
            "functions"} <= differing
    assert "public.after_backup" in changed

    restored = run(["db", "restore", "--yes", str(file)], fresh_db_url)
    assert restored.returncode == 0, restored.stderr
    assert checksums(fresh_db_url) == at_backup

    previous = restored.stderr.split("kept as ")[1].split()[0]  # the replaced database is kept, as it was
    assert checksums(fresh_db_url.rsplit("/", 1)[0] + "/" + previous) == changed


def test_missing_and_corrupt_files_are_clear_errors(fresh_db_url: str, tmp_path: Path) -> None:
    before = checksums(fresh_db_url)
    missing = run(["db", "restore", "--yes", str(tmp_path / "nope.dump")], fresh_db_url)
    assert missing.returncode == 1 and "no such backup file" in missing.stderr
    corrupt = tmp_path / "corrupt.dump"
    corrupt.write_bytes(b"PGDMP but not really" * 100)
    result = run(["db", "restore", "--yes", str(corrupt)], fresh_db_url)
    assert result.returncode == 1 and "is not a LAPIS backup" in result.stderr
    assert "Traceback" not in missing.stderr + result.stderr
    assert checksums(fresh_db_url) == before


def test_truncated_backup_leaves_the_database_unchanged(fresh_db_url: str, tmp_path: Path) -> None:
    file = tmp_path / "whole.dump"
    backup(fresh_db_url, file)
    truncated = tmp_path / "truncated.dump"
    truncated.write_bytes(file.read_bytes()[: file.stat().st_size * 9 // 10])  # table of contents intact, data cut
    with psycopg.connect(fresh_db_url) as conn:
        conn.execute("DELETE FROM zones WHERE id = (SELECT min(id) FROM zones)")
    before = checksums(fresh_db_url)
    with pytest.raises(BackupError, match=r"(?s)pg_restore of .* failed.*is unchanged"):
        restore(fresh_db_url, truncated)
    assert checksums(fresh_db_url) == before
    name = target(fresh_db_url).dbname
    with psycopg.connect(fresh_db_url) as conn:
        leftovers = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{name}_%",)).fetchall()
    assert leftovers == [], "the half-restored database is dropped"


def test_passwords_stay_out_of_command_lines_and_messages() -> None:
    db = target("postgresql://lapis:s3cr%40t@db.example:5432/lapis?sslmode=require")
    assert "s3cr" not in db.conninfo and db.env["PGPASSWORD"] == "s3cr@t"
    assert "sslmode=require" in db.conninfo and db.dbname == "lapis"
    assert redact("postgresql://lapis:s3cret@db.example/lapis") == "postgresql://lapis:***@db.example/lapis"
    assert redact("host=x password='a b' user=y") == "host=x password=*** user=y"
    assert redact("postgresql://lapis@db.example/lapis") == "postgresql://lapis@db.example/lapis"


def test_unreachable_server_with_a_password_never_prints_it(tmp_path: Path) -> None:
    result = run(["db", "backup", str(tmp_path / "x.dump")], "postgresql://lapis:s3cret@127.0.0.1:1/lapis")
    assert result.returncode == 2 and "cannot reach the database" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout
