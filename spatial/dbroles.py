"""The database roles LAPIS connects as, and what makes the app's login harmless on its own.

- The **owner** (the embedded cluster's `lapis`, or `LAPIS_OWNER_DATABASE_URL`'s user) owns every object: it runs
  the migrations and the CLI's loads.
- The **group roles** `lapis_reader` ⊂ `lapis_editor` ⊂ `lapis_approver` ⊂ `lapis_admin` (NOLOGIN; migration 0010
  creates them, and so does `ensure_group_roles`, both only when missing) carry the GRANTs (migration 0011 and the
  migrations of later tables).
- The **app's login** `lapis_app` (LOGIN, NOINHERIT, not superuser, no CREATEROLE/CREATEDB, not a member of
  `pg_execute_server_program`, `pg_read_server_files`, `pg_write_server_files`) is a member of the four group
  roles but, being NOINHERIT, holds none of their privileges until it `SET ROLE`s to one. Its sessions start as
  `lapis_reader` (`ALTER ROLE … SET role`), so a plain client (QGIS, psql) logged in as it can read and nothing
  more; the server's read pools fix that role too, and each write runs under `SET LOCAL ROLE <caller's role>`
  (`spatial.session.as_caller`).
"""

from __future__ import annotations

import re

import psycopg
from psycopg import sql

APP_ROLE = "lapis_app"
READ_ROLE = "lapis_reader"
GROUP_ROLES = ("lapis_reader", "lapis_editor", "lapis_approver", "lapis_admin")  # each a member of the one before
# Predefined roles that would let a login run programs or read/write files as the server's OS user.
SERVER_SIDE_ROLES = ("pg_execute_server_program", "pg_read_server_files", "pg_write_server_files")

ENSURE_GROUP_ROLES = """
DO $$
DECLARE
    roles text[] := ARRAY['lapis_reader', 'lapis_editor', 'lapis_approver', 'lapis_admin'];
BEGIN
    FOR i IN 1 .. array_length(roles, 1) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = roles[i]) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN INHERIT', roles[i]);
        END IF;
        IF i > 1 AND NOT pg_has_role(roles[i], roles[i - 1], 'MEMBER') THEN
            EXECUTE format('GRANT %I TO %I', roles[i - 1], roles[i]);
        END IF;
    END LOOP;
END $$
"""


# Is the login role as ensure_login_role leaves it? (NULL: there is no such role)
LOGIN_ROLE_OK = """
SELECT r.rolcanlogin AND NOT r.rolinherit AND NOT r.rolsuper AND NOT r.rolcreaterole AND NOT r.rolcreatedb
       AND NOT r.rolreplication AND NOT r.rolbypassrls
       AND (SELECT count(*) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
            WHERE m.member = r.oid AND g.rolname = ANY(%(groups)s)) = cardinality(%(groups)s)
       AND NOT EXISTS (SELECT 1 FROM unnest(%(server_side)s::text[]) s WHERE pg_has_role(r.oid, s, 'MEMBER'))
       AND EXISTS (SELECT 1 FROM pg_db_role_setting
                   WHERE setrole = r.oid AND setdatabase = 0 AND %(default_role)s = ANY(setconfig))
FROM pg_roles r WHERE r.rolname = %(name)s
"""


class RoleSetupError(RuntimeError):
    """A login role could not be made safe (the message says what to do)."""


def ensure_group_roles(conn: psycopg.Connection) -> None:
    """Create the four group roles (and their chain of memberships) where missing."""
    conn.execute(ENSURE_GROUP_ROLES)


def ensure_login_role(conn: psycopg.Connection, verifier: str | None, name: str = APP_ROLE) -> bool:
    """Make `name` the app's login as described above; set its password to `verifier` (a SCRAM verifier) when
    given. Returns True when the role was created. Needs a superuser or a CREATEROLE role."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise RoleSetupError(f"{name!r}: a login role name is lowercase letters, digits and _")
    ensure_group_roles(conn)
    role = sql.Identifier(name)
    password = sql.SQL(" PASSWORD {}").format(sql.Literal(verifier)) if verifier else sql.SQL("")
    row = conn.execute("SELECT rolsuper, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = %s",
                       (name,)).fetchone()
    if row is not None and any(row):
        raise RoleSetupError(f"role {name} is a superuser or may replicate or bypass row security: an app login "
                             f"must not (ALTER ROLE {name} NOSUPERUSER NOREPLICATION NOBYPASSRLS, as a superuser)")
    verb = sql.SQL("CREATE ROLE") if row is None else sql.SQL("ALTER ROLE")
    conn.execute(sql.SQL("{} {} LOGIN NOINHERIT NOCREATEDB NOCREATEROLE{}").format(verb, role, password))
    for group in GROUP_ROLES:
        if not _direct_member(conn, name, group):
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), role))
    for predefined in SERVER_SIDE_ROLES:
        if _direct_member(conn, name, predefined):
            conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(predefined), role))
    reached = [r for r in SERVER_SIDE_ROLES if conn.execute("SELECT pg_has_role(%s, %s, 'MEMBER')",
                                                            (name, r)).fetchone()[0]]
    if reached:
        raise RoleSetupError(f"role {name} still reaches {', '.join(reached)} through another role it belongs to: "
                             f"revoke that membership")
    conn.execute(sql.SQL("ALTER ROLE {} SET role = {}").format(role, sql.Literal(READ_ROLE)))
    return row is None


def login_role_ok(conn: psycopg.Connection, name: str = APP_ROLE) -> bool | None:
    """True when `name` is the app's login exactly as `ensure_login_role` leaves it; None when it does not exist."""
    row = conn.execute(LOGIN_ROLE_OK, {"name": name, "groups": list(GROUP_ROLES), "server_side": list(SERVER_SIDE_ROLES),
                                       "default_role": f"role={READ_ROLE}"}).fetchone()
    return None if row is None else bool(row[0])


def _direct_member(conn: psycopg.Connection, member: str, group: str) -> bool:
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles u ON u.oid = m.member WHERE g.rolname = %s AND u.rolname = %s)", (group, member),
    ).fetchone()[0]
