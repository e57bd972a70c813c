"""What the `lapis` command modules (`app.cli`, `app.cli_analysis`) share: the console they report on and the
way a command fails."""

from __future__ import annotations

import typer
from rich.console import Console

from spatial.db import database_url, owner_database_url
from spatial.embedded import EmbeddedError
from spatial.settings import Settings

console = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print the reason (as written: no highlighting, no wrapping) and give the exit to raise."""
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def login_url() -> str:
    """The server's login (commands acting as a LAPIS user take that user's role with SET ROLE), or a failure."""
    return url_or_fail(Settings(), owner=False)


def url_or_fail(settings: Settings, *, owner: bool = True) -> str:
    """The database URL (starting the embedded cluster when it is LAPIS's own), or a clear failure: the owner's
    (migrations, loads, exports: the default), or the server's login (`owner=False`: what only reads)."""
    try:
        return owner_database_url(settings) if owner else database_url(settings)
    except EmbeddedError as exc:
        raise fail(str(exc)) from None
