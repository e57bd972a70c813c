"""The database roles LAPIS connects as, and what makes the app's login harmless on its own.

- The **owner** (the embedded cluster's `lapis`, or `LAPIS_OWNER_DATABASE_URL`'s user) owns every object: it runs
  the migrations and the CLI's loads.
- The **group roles** `lapis_reader` ⊂ `lapis_editor` ⊂ `lapis_approver` ⊂ `lapis_admin` (NOLOGIN; migration 0010
  creates them, and so does `login_role_sql`, both only when missing) carry the GRANTs (migration 0011 and the
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


# The login role, made (or corrected) idempotently: `ensure_login_role` runs it, `lapis db grant --sql` prints it for a
# DBA. {name} is checked to be a plain identifier and {password} is '' or ` PASSWORD '<SCRAM verifier>'`.
LOGIN_ROLE = """
DO $$
DECLARE
    groups text[] := ARRAY['lapis_reader', 'lapis_editor', 'lapis_approver', 'lapis_admin'];
    server_side text[] := ARRAY['pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files'];
    r text;
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}' AND (rolsuper OR rolreplication OR rolbypassrls)) THEN
        RAISE EXCEPTION 'role {name} is a superuser or may replicate or bypass row security: an app login must not'
            USING HINT = 'ALTER ROLE {name} NOSUPERUSER NOREPLICATION NOBYPASSRLS (as a superuser)';
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN
        ALTER ROLE {name} LOGIN NOINHERIT NOCREATEDB NOCREATEROLE{password};
    ELSE
        CREATE ROLE {name} LOGIN NOINHERIT NOCREATEDB NOCREATEROLE{password};
    END IF;
    FOREACH r IN ARRAY groups LOOP
        IF NOT EXISTS (SELECT FROM pg_auth_members m WHERE m.roleid = r::regrole AND m.member = '{name}'::regrole)
        THEN
            EXECUTE format('GRANT %I TO {name}', r);
        END IF;
    END LOOP;
    FOREACH r IN ARRAY server_side LOOP
        IF EXISTS (SELECT FROM pg_auth_members m WHERE m.roleid = r::regrole AND m.member = '{name}'::regrole) THEN
            EXECUTE format('REVOKE %I FROM {name}', r);
        END IF;
        IF pg_has_role('{name}', r, 'MEMBER') THEN
            RAISE EXCEPTION 'role {name} reaches % through another role it belongs to: revoke that membership', r;
        END IF;
    END LOOP;
    ALTER ROLE {name} SET role = '{read_role}';
END $$;
"""
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_VERIFIER = re.compile(r"SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+")


class RoleSetupError(RuntimeError):
    """A login role could not be made safe (the message says what to do)."""


def login_role_sql(name: str = APP_ROLE, verifier: str | None = None) -> str:
    """The SQL that makes `name` the app's login as described above (the group roles too), setting its password
    to `verifier` (a SCRAM-SHA-256 verifier, never a password) when given. Idempotent."""
    if not _ROLE_NAME.fullmatch(name):
        raise RoleSetupError(f"{name!r}: a login role name is lowercase letters, digits and _")
    if verifier is not None and not _VERIFIER.fullmatch(verifier):
        raise RoleSetupError("not a SCRAM-SHA-256 verifier")
    password = f" PASSWORD '{verifier}'" if verifier else ""
    return ENSURE_GROUP_ROLES.strip() + ";\n" + LOGIN_ROLE.format(name=name, password=password,
                                                                   read_role=READ_ROLE).lstrip()


def ensure_login_role(conn: psycopg.Connection, verifier: str | None, name: str = APP_ROLE) -> None:
    """Run `login_role_sql` (needs a superuser or a CREATEROLE role)."""
    try:
        conn.execute(login_role_sql(name, verifier))
    except psycopg.errors.RaiseException as exc:
        raise RoleSetupError(str(exc.diag.message_primary)) from None


def login_role_ok(conn: psycopg.Connection, name: str = APP_ROLE) -> bool | None:
    """True when `name` is the app's login exactly as `ensure_login_role` leaves it; None when it does not exist."""
    row = conn.execute(LOGIN_ROLE_OK, {"name": name, "groups": list(GROUP_ROLES),
                                       "server_side": list(SERVER_SIDE_ROLES), "default_role": f"role={READ_ROLE}"},
                       ).fetchone()
    return None if row is None else bool(row[0])
