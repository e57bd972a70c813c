"""`lapis revision create|list`: the plan's revisions (`spatial.history.revisions`), recorded as the database role
the command connects as (the owner: a steward's command). `app.cli` adds them."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from app.cli_common import console, fail, login_url
from spatial.errors import SpatialInputError

revision_cli = typer.Typer(help="Plan revisions: named, published states of the plan with their legal basis.",
                           no_args_is_help=True)


@revision_cli.command("create")
def create(
    name: str = typer.Option(..., "--name", help="The revision's name, e.g. \"Điều chỉnh 2025\" (unique)"),
    legal_basis: str = typer.Option(..., "--legal-basis", help="The decision it rests on, e.g. \"Decision "
                                    "1234/QĐ-TTg, 01/10/2025\""),
    decided_on: str = typer.Option(None, "--date", help="The decision's date, YYYY-MM-DD"),
    note: str = typer.Option(None, "--note", help="A note"),
) -> None:
    """Record a revision: the plan as it stands now, with its legal basis. Prints its number on standard output."""
    from spatial.db import connect
    from spatial.history.revisions import create_revision_sync, revision_input

    fields = {"name": name, "legal_basis": legal_basis, "decided_on": decided_on, "note": note}
    try:
        given = revision_input({k: v for k, v in fields.items() if v is not None})
        with connect(login_url()) as conn:
            revision = create_revision_sync(conn, given)
    except SpatialInputError as exc:
        option = {"legal_basis": "--legal-basis", "decided_on": "--date", "name": "--name", "note": "--note"}.get(
            exc.parameter or "")
        detail = exc.detail
        if option and exc.parameter and detail.startswith(exc.parameter + ":"):
            detail = option + detail[len(exc.parameter):]
        raise fail(detail) from None
    console.print(f"revision {revision.id} \"{revision.name}\" ({revision.legal_basis}) fixes the plan as of "
                  f"{revision.published_at.isoformat()}", highlight=False, soft_wrap=True)
    print(revision.id)


@revision_cli.command("list")
def list_() -> None:
    """Every revision, oldest first."""
    from spatial.db import connect
    from spatial.history.revisions import list_revisions_sync

    with connect(login_url()) as conn:
        found = list_revisions_sync(conn)
    table = Table("id", "name", "legal basis", "decided on", "published at", "by", title="plan revisions")
    for r in found:
        table.add_row(str(r.id), r.name, r.legal_basis, r.decided_on.isoformat() if r.decided_on else "",
                      r.published_at.isoformat(), r.created_by)
    Console().print(table)
