"""Least privilege in the database (issue 12, point 1), on the session's own throwaway cluster and on clusters of
the tests' own: no `trust`, private folders and password files, an app login that can do nothing by itself,
GRANTs that let only an approver write the plan, and a trusting cluster of old upgraded when it starts."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from spatial import cluster_auth
from spatial.embedded import EmbeddedCluster, EmbeddedError
from tests.helpers import app_url_of

PLAN_TABLES = ("plans", "admin_units", "zones", "corridors", "axes", "projects", "parcels", "use_rules")
SERVER_SIDE = ("pg_execute_server_program", "pg_read_server_files", "pg_write_server_files")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _refused(url: str, statement: str, *, role: str | None = None) -> str:
    """The SQLSTATE of `statement` run as `url`'s login (after SET ROLE `role`), which must fail."""
    with psycopg.connect(url) as conn:
        if role:
            conn.execute(f"SET ROLE {role}")
        with pytest.raises(psycopg.Error) as failure:
            conn.execute(statement)
    return str(failure.value.sqlstate)


def _as_nobody(cluster: EmbeddedCluster, conninfo: str) -> subprocess.CompletedProcess[str]:
    """psql as the OS user `nobody`, even offered our password file (which it cannot read)."""
    env = {"PATH": os.environ["PATH"], "PGPASSFILE": str(cluster.passfile), "PGCONNECT_TIMEOUT": "5"}
    return subprocess.run(["runuser", "-u", "nobody", "--", str(cluster.bindir / "psql"), "-w", conninfo, "-c",
                           "copy (select 1) to program 'id'"], capture_output=True, text=True, env=env, cwd="/",
                          timeout=60, check=False)


def test_pg_hba_has_no_trust_line(cluster: EmbeddedCluster, db_url: str) -> None:
    assert not cluster_auth.hba_trusts(cluster.pgdata / "pg_hba.conf")
    with psycopg.connect(db_url) as conn:
        methods = {row[0] for row in conn.execute("SELECT auth_method FROM pg_hba_file_rules WHERE error IS NULL")}
    assert methods == {"scram-sha-256"}


def test_the_folders_and_the_password_file_are_private(cluster: EmbeddedCluster) -> None:
    assert _mode(cluster.data_dir) == 0o700 and _mode(cluster.socket_dir) == 0o700 and _mode(cluster.pgdata) == 0o700
    owner = cluster.owner()
    if owner is not None:  # as root the server runs as its own user, which owns its folders
        assert {p.stat().st_uid for p in (cluster.data_dir, cluster.socket_dir, cluster.pgdata)} == {owner.pw_uid}
    assert _mode(cluster.passfile) == 0o600 and cluster.passfile.stat().st_uid == os.geteuid()
    assert set(cluster.credentials().passwords) == {"lapis", "lapis_app"}  # type: ignore[union-attr]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another OS user (runuser)")
def test_another_os_user_cannot_connect(cluster: EmbeddedCluster, db_url: str) -> None:
    port, db = conninfo_to_dict(db_url)["port"], conninfo_to_dict(db_url)["dbname"]
    for user in ("lapis", "lapis_app"):
        tcp = _as_nobody(cluster, f"host=127.0.0.1 port={port} dbname={db} user={user}")
        assert tcp.returncode != 0 and "no password supplied" in tcp.stderr, tcp.stderr
        socket = _as_nobody(cluster, f"host={cluster.socket_dir} port={port} dbname={db} user={user}")
        assert socket.returncode != 0 and "Permission denied" in socket.stderr, socket.stderr
    guessed = _as_nobody(cluster, f"postgresql://lapis:lapis@127.0.0.1:{port}/{db}")
    assert guessed.returncode != 0 and "password authentication failed" in guessed.stderr, guessed.stderr


def test_the_app_login_has_no_power_of_its_own(db_url: str, app_db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        attributes = conn.execute("SELECT rolcanlogin, rolinherit, rolsuper, rolcreaterole, rolcreatedb, "
                                  "rolreplication, rolbypassrls FROM pg_roles WHERE rolname = 'lapis_app'").fetchone()
        member_of = {row[0] for row in conn.execute(
            "SELECT g.rolname FROM pg_roles g WHERE pg_has_role('lapis_app', g.oid, 'MEMBER') "
            "AND g.rolname <> 'lapis_app'")}
    assert attributes == (True, False, False, False, False, False, False)
    assert member_of == {"lapis_reader", "lapis_editor", "lapis_approver", "lapis_admin"}
    with psycopg.connect(app_db_url) as conn:  # its sessions start as the reader
        assert conn.execute("SELECT session_user, current_user").fetchone() == ("lapis_app", "lapis_reader")
    for role in (None, "lapis_admin"):
        assert _refused(app_db_url, "COPY (SELECT 1) TO PROGRAM 'id'", role=role) == "42501"
        assert _refused(app_db_url, "CREATE ROLE intruder LOGIN", role=role) == "42501"
        assert _refused(app_db_url, "SELECT pg_read_file('/etc/passwd')", role=role) == "42501"
    assert _refused(app_db_url, "SET ROLE lapis") == "42501"  # the owner is out of reach
    assert _refused(app_db_url, "ALTER ROLE lapis_app SUPERUSER") == "42501"
    assert _refused(app_db_url, "CREATE TABLE mine (x int)", role="lapis_admin") == "42501"


def test_only_an_approver_writes_the_plan(cluster: EmbeddedCluster, fresh_db_url: str) -> None:
    app = app_url_of(cluster, fresh_db_url)
    for role in (None, "lapis_reader", "lapis_editor"):
        for table in PLAN_TABLES:
            assert _refused(app, f"DELETE FROM {table}", role=role) == "42501", (role, table)  # noqa: S608
        assert _refused(app, "UPDATE zones SET name_en = 'x'", role=role) == "42501"
        assert _refused(app, "INSERT INTO plans (code, name_vi) VALUES ('X', 'x')", role=role) == "42501"
        assert _refused(app, "SELECT count(*) FROM users", role=role) == "42501"
    with psycopg.connect(fresh_db_url) as conn:
        before = conn.execute("SELECT version FROM layer_versions WHERE layer = 'zones'").fetchone()
    with psycopg.connect(app) as conn:
        conn.execute("SET ROLE lapis_approver")
        conn.execute("INSERT INTO plans (code, name_vi) VALUES ('QH-TEST', 'Thử nghiệm')")
        updated = conn.execute("UPDATE zones SET name_en = name_en WHERE code = "
                               "(SELECT min(code) FROM zones)").rowcount
        conn.execute("DELETE FROM plans WHERE code = 'QH-TEST'")
        assert updated == 1 and conn.execute("SELECT current_user").fetchone() == ("lapis_approver",)
    with psycopg.connect(fresh_db_url) as conn:  # its trigger bumped the version it may not write itself
        assert conn.execute("SELECT version FROM layer_versions WHERE layer = 'zones'").fetchone() != before
    assert _refused(app, "UPDATE layer_versions SET version = 0", role="lapis_approver") == "42501"


def test_a_table_the_owner_adds_later_is_readable_by_readers(cluster: EmbeddedCluster, fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url) as conn:
        conn.execute("CREATE TABLE wells (id int PRIMARY KEY)")
        conn.execute("INSERT INTO wells VALUES (1)")
    with psycopg.connect(app_url_of(cluster, fresh_db_url)) as conn:
        assert conn.execute("SELECT count(*) FROM wells").fetchone() == (1,)


# -- clusters of the tests' own: made trusting, as before issue 12, then started -----------------------------------
@pytest.fixture()
def trusting_cluster(cluster_home: Path) -> Iterator[EmbeddedCluster]:
    """A cluster made as LAPIS made them before: `initdb --auth=trust`, no password file."""
    cluster = EmbeddedCluster(cluster_home / ".data", "lapis", throwaway=True)
    cluster.prepare_folders()
    made = cluster.run_as_owner([str(cluster.bindir / "initdb"), "-D", str(cluster.pgdata), "-U", "lapis",
                                 "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"])
    assert made.returncode == 0, made.stderr
    assert cluster_auth.hba_trusts(cluster.pgdata / "pg_hba.conf") and not cluster.passfile.exists()
    yield cluster
    cluster.destroy()


def _no_password_refused(port: int) -> None:
    with pytest.raises(psycopg.OperationalError, match="no password supplied|password authentication failed"):
        psycopg.connect(f"postgresql://lapis@127.0.0.1:{port}/lapis", connect_timeout=5, passfile="/nonexistent")


def test_a_trusting_cluster_is_upgraded_when_it_starts(trusting_cluster: EmbeddedCluster) -> None:
    status = trusting_cluster.start()
    assert not cluster_auth.hba_trusts(trusting_cluster.pgdata / "pg_hba.conf")
    assert _mode(trusting_cluster.passfile) == 0o600
    assert status.url and status.app_url and status.port
    with psycopg.connect(status.url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("lapis",)
    with psycopg.connect(status.app_url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("lapis_reader",)
    _no_password_refused(status.port)


def test_a_running_cluster_that_trusts_again_is_fixed_by_the_next_start(trusting_cluster: EmbeddedCluster) -> None:
    status = trusting_cluster.start()
    assert status.url and status.port
    (trusting_cluster.pgdata / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    with psycopg.connect(status.url, autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")
    psycopg.connect(f"postgresql://lapis@127.0.0.1:{status.port}/lapis", passfile="/nonexistent").close()  # trusted
    again = trusting_cluster.start()
    assert again.pid == status.pid, "fixed without a restart"
    assert not cluster_auth.hba_trusts(trusting_cluster.pgdata / "pg_hba.conf")
    _no_password_refused(status.port)


def test_a_lost_password_file_gets_new_passwords_at_the_next_start(trusting_cluster: EmbeddedCluster) -> None:
    first = trusting_cluster.start()
    trusting_cluster.passfile.unlink()
    with pytest.raises(EmbeddedError, match="lapis db stop"):  # running: it cannot give the owner a new password
        trusting_cluster.start()
    trusting_cluster.stop()
    again = trusting_cluster.start()
    assert again.url != first.url and again.app_url != first.app_url
    for url in (again.url, again.app_url):
        psycopg.connect(url).close()  # type: ignore[arg-type]
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(first.url)  # type: ignore[arg-type]
