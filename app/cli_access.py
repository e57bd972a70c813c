"""`lapis db status` and `lapis db grant`: how to connect, and the server's own least-privileged login.

Nothing here prints a password unless asked (`--show-password`): URLs end up in terminals, shell histories and QGIS
projects. `grant` writes the new login's password only to a libpq password file (mode 0600) and prints a URL that
names that file. `app.cli` adds these commands to `lapis db`.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from spatial import cluster_auth, dbroles
from spatial.conninfo import FORMATS, Format
from spatial.db import DatabaseSettingsError, embedded_cluster, owner_database_url
from spatial.settings import Settings

access_cli = typer.Typer()
console = Console(stderr=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def print_connection(url: str, fmt: Format, show_password: bool, passfile: Path | None = None) -> None:
    """Print how to connect (standard output) and, on standard error, where the password left out is."""
    import psycopg

    from spatial.conninfo import connection_text

    try:
        text, hidden = connection_text(url, fmt, show_password=show_password)
    except psycopg.ProgrammingError as exc:
        raise _fail(f"the database URL is not one libpq reads: {exc}") from None
    print(text)
    if hidden:
        where = f"PGPASSFILE={passfile}" if passfile else "PGPASSWORD or ~/.pgpass"
        console.print(f"(password left out: --show-password prints it; libpq also reads it from {where})",
                      highlight=False)


@access_cli.command("status")
def db_status(
    fmt: str = typer.Option("url", "--format", help="url (postgresql://…) | libpq (host=… port=… dbname=… user=…, "
                            "the form QGIS reads)"),
    show_password: bool = typer.Option(False, "--show-password", help="Include the password (left out by default)"),
    owner: bool = typer.Option(False, "--owner", help="The owner's login (migrations, loads) instead of the "
                               "server's (lapis_app: reads, and writes only under a signed-in caller's role)"),
) -> None:
    """Say whether the database runs and print how to connect to it (exit 1 when it does not run)."""
    if fmt not in FORMATS:
        raise _fail(f"--format {fmt!r}: use {' or '.join(FORMATS)}", 2)
    settings = Settings()
    if settings.database_url:
        url = (settings.owner_database_url or settings.database_url) if owner else settings.database_url
        print_connection(url, fmt, show_password)  # type: ignore[arg-type]
        return
    cluster = embedded_cluster(settings)
    status = cluster.status()
    if not status.running or not status.url or not status.app_url:
        console.print(f"embedded PostGIS not running (data in {status.data_dir}); start it with `lapis db start`")
        raise typer.Exit(1)
    console.print(f"embedded PostGIS running: pid {status.pid}, port {status.port}, data {status.data_dir}")
    print_connection(status.url if owner else status.app_url, fmt, show_password, cluster.passfile)  # type: ignore[arg-type]


@access_cli.command("grant")
def db_grant(
    login: str = typer.Option(dbroles.APP_ROLE, "--login", help="The server's login role"),
    password_file: Path = typer.Option(None, "--password-file", help="Where its password is kept (a libpq "
                                       "password file, mode 0600; default <data_dir>/<login>.pgpass)"),
    sql: bool = typer.Option(False, "--sql", help="Print the SQL for a DBA to run (as a superuser or a CREATEROLE "
                             "role) instead of running it; the password still goes only to the file"),
) -> None:
    """Create (or correct) the server's database login on DATABASE_URL's server: LOGIN, NOINHERIT, not superuser,
    no CREATEROLE/CREATEDB, member of lapis_reader/editor/approver/admin. Its password is generated once (kept in
    the password file: running this again keeps it) and the DATABASE_URL to give the server is printed."""
    import psycopg

    from spatial.conninfo import connection_params, url_form

    settings = Settings()
    if not settings.database_url:
        cluster = embedded_cluster(settings)
        console.print(f"the embedded cluster makes {dbroles.APP_ROLE} itself at every start (its password is in "
                      f"{cluster.passfile}): nothing to do", highlight=False)
        return
    try:
        owner_url = owner_database_url(settings)
    except DatabaseSettingsError as exc:
        raise _fail(str(exc)) from None
    params = connection_params(owner_url)
    path = (password_file or settings.data_dir / f"{login}.pgpass").resolve()
    kept = cluster_auth.read_credentials(path)
    password = (kept.passwords.get(login) if kept else None) or cluster_auth.new_password()
    hosts = tuple(h if h and not h.startswith("/") else "localhost" for h in params.get("host", "").split(","))
    cluster_auth.write_passfile(path, {login: password}, hosts, note=f"password of the LAPIS server's login {login}")
    try:
        statements = dbroles.login_role_sql(login, cluster_auth.scram_verifier(password))
        if sql:
            print(statements)
        else:
            with psycopg.connect(owner_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(statements)
    except (dbroles.RoleSetupError, psycopg.errors.RaiseException, psycopg.errors.InsufficientPrivilege) as exc:
        message = exc.diag.message_primary if isinstance(exc, psycopg.Error) else str(exc)
        raise _fail(f"{message} (the owner needs CREATEROLE, or let a DBA run `lapis db grant --sql`)") from None
    app = {k: v for k, v in params.items() if k != "password"} | {"user": login, "passfile": str(path)}
    url = url_form(app)
    if sql:
        console.print(f"run the SQL above as a superuser or a CREATEROLE role, then give the server DATABASE_URL={url}",
                      highlight=False)
        return
    console.print(f"{login} is ready; its password is in {path} (mode 0600: the server's OS user must own it). "
                  f"Give the server this DATABASE_URL, and keep the owner's as LAPIS_OWNER_DATABASE_URL:",
                  highlight=False)
    print(url)
