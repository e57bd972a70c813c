"""What the `lapis` command modules (`app.cli`, `app.cli_analysis`) share: the console they report on and the
way a command fails."""

from __future__ import annotations

import typer
from rich.console import Console

from spatial.db import database_url
from spatial.embedded import EmbeddedError
from spatial.settings import Settings

console = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def url_or_fail(settings: Settings) -> str:
    """The database URL (starting the embedded cluster when it is LAPIS's own), or a clear failure."""
    try:
        return database_url(settings)
    except EmbeddedError as exc:
        raise fail(str(exc)) from None
