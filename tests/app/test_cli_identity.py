"""`lapis users` and `lapis tokens` against a real database: what a steward types, what they see, and exit codes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import asyncpg
import psycopg
import pytest
from typer.testing import CliRunner, Result

from app.cli import cli
from spatial.identity.model import Identity, Role
from spatial.identity.tokens import identity_of_token

Lapis = Callable[..., Result]


@pytest.fixture()
def lapis(fresh_db_url: str) -> Lapis:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), env={"DATABASE_URL": fresh_db_url})

    return invoke


def resolve(url: str, token: str) -> Identity | None:
    async def run() -> Identity | None:
        conn = await asyncpg.connect(url)
        try:
            return await identity_of_token(conn, token)
        finally:
            await conn.close()

    return asyncio.run(run())


def rows(output: str) -> list[list[str]]:
    """The listing's data rows split on runs of 2+ spaces (the header dropped)."""
    return [re.split(r"\s{2,}", line.strip()) for line in output.splitlines()[1:] if line.strip()]


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def refused(result: Result, message: str) -> None:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert message in result.stderr and result.stdout == ""


def test_users_are_added_listed_given_roles_and_disabled(lapis: Lapis) -> None:
    ok(lapis("users", "add", "lan.nguyen", "--role", "editor", "--display-name", "Nguyễn Thị Lan"))
    ok(lapis("users", "add", "thu", "--role", "viewer"))
    listed = ok(lapis("users", "list"))
    assert listed.stdout.splitlines()[0].split() == ["name", "role", "status", "created", "display", "name"]
    table = rows(listed.stdout)
    assert [r[:3] for r in table] == [["lan.nguyen", "editor", "active"], ["thu", "viewer", "active"]]
    assert table[0][4] == "Nguyễn Thị Lan" and len(table[1]) == 4  # no display name
    assert "now approver" in ok(lapis("users", "set-role", "thu", "approver")).stderr
    assert "disabled" in ok(lapis("users", "disable", "lan.nguyen")).stderr
    table = {r[0]: r for r in rows(ok(lapis("users", "list")).stdout)}
    assert table["thu"][1] == "approver" and table["lan.nguyen"][2] == "disabled"
    ok(lapis("users", "enable", "lan.nguyen"))
    assert {r[0]: r[2] for r in rows(ok(lapis("users", "list")).stdout)}["lan.nguyen"] == "active"


def test_bad_user_input_is_refused_with_a_reason(lapis: Lapis) -> None:
    ok(lapis("users", "add", "an", "--role", "admin"))
    refused(lapis("users", "add", "an", "--role", "viewer"), "already exists")
    refused(lapis("users", "add", "Bad Name", "--role", "viewer"), "lower-case")
    for role in ("superuser", "anonymous", "Editor"):
        refused(lapis("users", "add", "binh", "--role", role), "is not one of")
        refused(lapis("users", "set-role", "an", role), "is not one of")
    refused(lapis("users", "set-role", "nobody", "viewer"), "no user named 'nobody'")
    refused(lapis("users", "disable", "nobody"), "no user named 'nobody'")
    refused(lapis("users", "enable", "nobody"), "no user named 'nobody'")
    assert [r[0] for r in rows(ok(lapis("users", "list")).stdout)] == ["an"]  # nothing half-added


def test_a_token_is_shown_once_and_signs_its_user_in(lapis: Lapis, fresh_db_url: str) -> None:
    ok(lapis("users", "add", "lan", "--role", "editor"))
    created = ok(lapis("tokens", "create", "--user", "lan", "--expires", "90d", "--note", "laptop"))
    token = created.stdout.strip()
    assert re.fullmatch(r"lapis_[A-Za-z0-9_-]{43}", token), created.stdout  # the token alone on stdout
    assert "will not be shown again" in created.stderr and token not in created.stderr
    assert resolve(fresh_db_url, token) == Identity("lan", Role.editor)
    with psycopg.connect(fresh_db_url) as conn:
        stored = conn.execute("SELECT t::text FROM api_tokens t").fetchone()[0]
    assert token not in stored and token[6:] not in stored  # only the hash and a short prefix are kept
    listed = ok(lapis("tokens", "list"))
    assert token not in listed.stdout
    (row,) = rows(listed.stdout)
    assert row[1:3] == ["lan", token[:12] + "…"] and row[-2:] == ["active", "laptop"]
    ok(lapis("users", "set-role", "lan", "approver"))
    assert resolve(fresh_db_url, token) == Identity("lan", Role.approver)  # the role is read at each sign-in
    assert f"token {row[0]} revoked" in ok(lapis("tokens", "revoke", row[0])).stderr
    assert resolve(fresh_db_url, token) is None
    assert rows(ok(lapis("tokens", "list", "--user", "lan")).stdout)[0][-2].startswith("revoked")
    ok(lapis("tokens", "revoke", row[0]))  # twice is harmless


def test_token_lifetimes_and_listing_by_user(lapis: Lapis, fresh_db_url: str) -> None:
    ok(lapis("users", "add", "a", "--role", "viewer"))
    ok(lapis("users", "add", "b", "--role", "viewer"))
    forever = ok(lapis("tokens", "create", "--user", "a", "--expires", "never")).stdout.strip()
    ok(lapis("tokens", "create", "--user", "b", "--expires", "12h"))
    short = ok(lapis("tokens", "create", "--user", "b", "--expires", "30m")).stdout.strip()
    with psycopg.connect(fresh_db_url) as conn:
        lifetimes = conn.execute("SELECT u.name, round(extract(epoch FROM t.expires_at - t.created_at) / 60) "
                                 "FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id").fetchall()
        conn.execute("UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE prefix = %s",
                     (short[:12],))
    assert lifetimes == [("a", None), ("b", 720), ("b", 30)]
    assert resolve(fresh_db_url, forever) == Identity("a", Role.viewer)
    by_b = rows(ok(lapis("tokens", "list", "--user", "b")).stdout)
    assert [r[1] for r in by_b] == ["b", "b"] and [r[-1] for r in by_b] == ["active", "expired"]
    assert rows(ok(lapis("tokens", "list", "--user", "a")).stdout)[0][4] == "never"


def test_bad_token_input_is_refused_with_a_reason(lapis: Lapis) -> None:
    ok(lapis("users", "add", "a", "--role", "viewer"))
    refused(lapis("tokens", "create", "--user", "nobody"), "no user named 'nobody'")
    for lifetime in ("1w", "0d", "90", "soon", "-1d"):
        refused(lapis("tokens", "create", "--user", "a", "--expires", lifetime), "not a lifetime")
    refused(lapis("tokens", "list", "--user", "nobody"), "no user named 'nobody'")
    refused(lapis("tokens", "revoke", "999999"), "no token with id 999999")
    assert lapis("tokens", "revoke", "abc").exit_code == 2  # not a number: typer's usage error
    assert rows(ok(lapis("tokens", "list")).stdout) == []
