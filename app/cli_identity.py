"""`lapis users` and `lapis tokens`: who may sign in, with which role, and their personal API tokens.

Each command is a thin call into `spatial.identity`, run as the database owner (the CLI's usual URL), in one
transaction. A new token is printed once, alone on standard output (so a script can capture it); LAPIS keeps only
its hash, so it can never be shown again. Listings show a token's prefix, never the token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TypeVar

import psycopg
import typer
from rich.console import Console

from spatial.db import owner_database_url
from spatial.embedded import EmbeddedError
from spatial.errors import SpatialInputError
from spatial.identity import tokens as token_store
from spatial.identity import users as user_store
from spatial.settings import Settings

users_cli = typer.Typer(help="LAPIS users and their roles (viewer, editor, approver, admin).", no_args_is_help=True)
tokens_cli = typer.Typer(help="Personal API tokens (Authorization: Bearer …): created, listed, revoked.",
                         no_args_is_help=True)
console = Console(stderr=True, highlight=False)
T = TypeVar("T")


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(1)


@contextmanager
def _owner_connection() -> Iterator[psycopg.Connection]:
    """One transaction as the database owner; a caller's mistake (unknown user, bad role…) exits 1 with its text."""
    try:
        url = owner_database_url(Settings())
    except (EmbeddedError, RuntimeError) as exc:
        raise _fail(str(exc)) from None
    try:
        with psycopg.connect(url) as conn:
            yield conn
    except SpatialInputError as exc:
        raise _fail(exc.detail) from None


def _run(action: Callable[[psycopg.Connection], T]) -> T:
    with _owner_connection() as conn:
        return action(conn)


def _parsed(parse: Callable[[str], T], text: str) -> T:
    try:
        return parse(text)
    except SpatialInputError as exc:
        raise _fail(exc.detail) from None


def _when(moment: datetime | None, never: str = "-") -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else never


def _print_columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Aligned columns on standard output (plain text: readable, and easy to cut in a script)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


# --- users --------------------------------------------------------------------------------------------------------

@users_cli.command("add")
def users_add(name: str = typer.Argument(..., help="Sign-in name: lower-case letters, digits and . _ @ -"),
              role: str = typer.Option(..., "--role", help="viewer, editor, approver or admin"),
              display_name: str = typer.Option(None, "--display-name", help="The person's name, as shown")) -> None:
    """Add a user with a role (then give them a token: `lapis tokens create --user NAME`)."""
    parsed = _parsed(user_store.parse_user_role, role)
    user = _run(lambda conn: user_store.add_user(conn, name, parsed, display_name))
    console.print(f"user {user.name} added as {user.role.value}")


@users_cli.command("list")
def users_list() -> None:
    """Every user: name, role, whether disabled, display name."""
    users = _run(user_store.list_users)
    _print_columns(("name", "role", "status", "created", "display name"),
                   [(u.name, u.role.value, "disabled" if u.disabled else "active", _when(u.created_at),
                     u.display_name or "") for u in users])


@users_cli.command("set-role")
def users_set_role(name: str = typer.Argument(..., help="The user"),
                   role: str = typer.Argument(..., help="viewer, editor, approver or admin")) -> None:
    """Change a user's role (their tokens act with the new role from their next request)."""
    parsed = _parsed(user_store.parse_user_role, role)
    user = _run(lambda conn: user_store.set_role(conn, name, parsed))
    console.print(f"user {user.name} is now {user.role.value}")


@users_cli.command("disable")
def users_disable(name: str = typer.Argument(..., help="The user")) -> None:
    """Stop a user from signing in: every token of theirs is refused until `lapis users enable`."""
    user = _run(lambda conn: user_store.set_disabled(conn, name, True))
    console.print(f"user {user.name} disabled: their tokens are refused")


@users_cli.command("enable")
def users_enable(name: str = typer.Argument(..., help="The user")) -> None:
    """Let a disabled user sign in again (with tokens that are neither revoked nor expired)."""
    user = _run(lambda conn: user_store.set_disabled(conn, name, False))
    console.print(f"user {user.name} enabled")


# --- tokens -------------------------------------------------------------------------------------------------------

def _lifetime(text: str) -> timedelta | None:
    return None if text.strip().lower() == "never" else _parsed(token_store.parse_lifetime, text)


@tokens_cli.command("create")
def tokens_create(user: str = typer.Option(..., "--user", help="Whose token"),
                  expires: str = typer.Option("90d", "--expires", help="Lifetime: 90d, 12h, 30m, or 'never'"),
                  note: str = typer.Option(None, "--note", help="What it is for (e.g. the laptop or script)")) -> None:
    """Create a token for a user and print it — once: LAPIS keeps only its hash."""
    lifetime = _lifetime(expires)
    token, info = _run(lambda conn: token_store.create_token(conn, user, lifetime=lifetime, note=note))
    print(token)
    console.print(f"token {info.id} ({info.prefix}…) for {info.user}, expires {_when(info.expires_at, 'never')}.\n"
                  "Copy it now: it will not be shown again (LAPIS keeps only its hash). "
                  "Send it as 'Authorization: Bearer <token>'.")


@tokens_cli.command("list")
def tokens_list(user: str = typer.Option(None, "--user", help="Only this user's tokens")) -> None:
    """Tokens by id: user, prefix, expiry, revocation (never the token itself)."""
    def listed(conn: psycopg.Connection) -> list[token_store.TokenInfo]:
        if user is not None and user not in {u.name for u in user_store.list_users(conn)}:
            raise _fail(f"no user named {user!r}")
        return token_store.list_tokens(conn, user)

    infos = _run(listed)
    now = datetime.now().astimezone()
    _print_columns(("id", "user", "prefix", "created", "expires", "status", "note"),
                   [(str(t.id), t.user, t.prefix + "…", _when(t.created_at), _when(t.expires_at, "never"),
                     _status(t, now), t.note or "") for t in infos])


def _status(info: token_store.TokenInfo, now: datetime) -> str:
    if info.revoked_at is not None:
        return f"revoked {_when(info.revoked_at)}"
    if info.expires_at is not None and info.expires_at <= now:
        return "expired"
    return "active"


@tokens_cli.command("revoke")
def tokens_revoke(token_id: int = typer.Argument(..., metavar="ID",
                                                  help="The token's id (`lapis tokens list`)")) -> None:
    """Revoke a token: it is refused from the next request on (revoking twice is harmless)."""
    _run(lambda conn: token_store.revoke_token(conn, token_id))
    console.print(f"token {token_id} revoked")
