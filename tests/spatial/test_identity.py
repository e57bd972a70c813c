"""Users, API tokens and the caller's transaction, against the real test database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import psycopg
import pytest

from spatial.errors import InvalidParameter, NotFound
from spatial.identity.model import ANONYMOUS, Identity, Role
from spatial.identity.tokens import (
    create_token,
    identity_of_token,
    list_tokens,
    parse_lifetime,
    revoke_token,
    token_hash,
)
from spatial.identity.users import add_user, list_users, parse_user_role, set_disabled, set_role
from spatial.session import as_caller, as_caller_sync


async def _identity(url: str, token: str) -> Identity | None:
    conn = await asyncpg.connect(url)
    try:
        return await identity_of_token(conn, token)
    finally:
        await conn.close()


def resolve(url: str, token: str) -> Identity | None:
    return asyncio.run(_identity(url, token))


def test_a_token_resolves_to_its_user_until_revoked(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url) as conn:
        add_user(conn, "lan.nguyen", Role.editor, "Nguyễn Thị Lan")
        token, info = create_token(conn, "lan.nguyen", lifetime=timedelta(days=90), note="laptop")
    assert token.startswith("lapis_") and len(token) == 49
    assert info.prefix == token[:12] and info.expires_at is not None
    assert resolve(fresh_db_url, token) == Identity("lan.nguyen", Role.editor)
    assert resolve(fresh_db_url, token + "x") is None
    assert resolve(fresh_db_url, "lapis_" + "A" * 43) is None
    with psycopg.connect(fresh_db_url) as conn:
        stored = conn.execute("SELECT token_hash FROM api_tokens").fetchall()
        assert stored == [(token_hash(token),)]  # only the hash is kept
        revoke_token(conn, info.id)
        assert list_tokens(conn, "lan.nguyen")[0].revoked_at is not None
    assert resolve(fresh_db_url, token) is None


def test_expired_tokens_and_disabled_users_sign_in_nobody(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url) as conn:
        add_user(conn, "a", Role.viewer)
        expiring, info = create_token(conn, "a", lifetime=timedelta(days=1))
        lasting, _ = create_token(conn, "a", lifetime=None)
        conn.execute("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = %s", (info.id,))
    assert resolve(fresh_db_url, expiring) is None
    assert resolve(fresh_db_url, lasting) == Identity("a", Role.viewer)
    with psycopg.connect(fresh_db_url) as conn:
        set_disabled(conn, "a")
    assert resolve(fresh_db_url, lasting) is None
    with psycopg.connect(fresh_db_url) as conn:
        set_disabled(conn, "a", False)
        assert set_role(conn, "a", Role.approver).role is Role.approver
    assert resolve(fresh_db_url, lasting) == Identity("a", Role.approver)


def test_user_input_is_checked(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url) as conn:
        add_user(conn, "b", Role.admin)
    with psycopg.connect(fresh_db_url) as conn, pytest.raises(InvalidParameter, match="already exists"):
        add_user(conn, "b", Role.viewer)
    with psycopg.connect(fresh_db_url) as conn, pytest.raises(InvalidParameter, match="lower-case"):
        add_user(conn, "Bad Name", Role.viewer)
    with psycopg.connect(fresh_db_url) as conn:
        with pytest.raises(NotFound):
            create_token(conn, "nobody", lifetime=None)
        with pytest.raises(NotFound):
            set_role(conn, "nobody", Role.viewer)
        assert [u.name for u in list_users(conn)] == ["b"]
    with pytest.raises(InvalidParameter):
        parse_user_role("anonymous")
    assert parse_user_role("editor") is Role.editor
    assert parse_lifetime("90d") == timedelta(days=90) and parse_lifetime("12h") == timedelta(hours=12)
    for bad in ("0d", "90", "d", "1w", "-1d"):
        with pytest.raises(InvalidParameter):
            parse_lifetime(bad)


def test_role_order_and_database_roles() -> None:
    assert [r.rank for r in Role] == [0, 1, 2, 3, 4]
    assert Identity("x", Role.approver).at_least(Role.editor)
    assert not Identity("x", Role.editor).at_least(Role.approver)
    assert ANONYMOUS.db_role == Identity("v", Role.viewer).db_role == "lapis_reader"
    assert Identity("e", Role.editor).db_role == "lapis_editor"
    assert Identity("a", Role.admin).db_role == "lapis_admin"


def test_group_roles_nest(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        nested = conn.execute(
            "SELECT pg_has_role('lapis_admin', 'lapis_reader', 'USAGE'), "
            "pg_has_role('lapis_approver', 'lapis_editor', 'USAGE'), "
            "pg_has_role('lapis_editor', 'lapis_approver', 'MEMBER'), "
            "(SELECT bool_or(rolcanlogin) FROM pg_roles WHERE rolname LIKE 'lapis\\_%' "
            " AND rolname IN ('lapis_reader', 'lapis_editor', 'lapis_approver', 'lapis_admin'))").fetchone()
    assert nested == (True, True, False, False)


def test_the_caller_transaction_sets_role_and_who(db_url: str) -> None:
    who = Identity("lan", Role.editor, proposal=7, reason="sửa ranh giới")
    with psycopg.connect(db_url) as conn:
        with as_caller_sync(conn, who):
            row = conn.execute("SELECT current_user, current_setting('lapis.user'), "
                               "current_setting('lapis.proposal'), current_setting('lapis.reason')").fetchone()
        assert row == ("lapis_editor", "lan", "7", "sửa ranh giới")
        after = conn.execute("SELECT current_user = session_user, current_setting('lapis.user', true)").fetchone()
        assert after[0] and after[1] in (None, "")  # both end with the transaction

    async def run() -> tuple:
        conn = await asyncpg.connect(db_url)
        try:
            async with as_caller(conn, ANONYMOUS):
                inside = await conn.fetchrow("SELECT current_user, current_setting('lapis.user') AS u, "
                                             "current_setting('lapis.proposal') AS p")
            outside = await conn.fetchval("SELECT current_user = session_user")
            return tuple(inside), outside
        finally:
            await conn.close()

    assert asyncio.run(run()) == (("lapis_reader", "", ""), True)


def test_readers_cannot_read_tokens(db_url: str) -> None:
    with psycopg.connect(db_url) as conn, as_caller_sync(conn, ANONYMOUS), \
            pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT token_hash FROM api_tokens")
