"""A database connection written for other clients: a `postgresql://` URL or libpq's keyword/value form.

QGIS (its PostGIS provider and `QgsDataSourceUri`) reads only the keyword/value form
(`host=… port=… dbname=… user=…`), never a URL; psql, GDAL (`PG:`) and every libpq client read both. A URL whose
host is a socket folder (`postgresql://lapis@%2Fpath%2Frun:5432/lapis`) is the form least understood outside libpq.
Both forms leave the password out unless asked: what `lapis db status` prints ends up in terminals, shell histories
and QGIS projects. Without it libpq takes the password from `PGPASSWORD` or `~/.pgpass`, and QGIS asks for it.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import quote, urlencode

from psycopg.conninfo import conninfo_to_dict

from spatial.db import normalise_url

Format = Literal["url", "libpq"]
FORMATS: tuple[Format, ...] = ("url", "libpq")
_FIRST = ("host", "port", "dbname", "user", "password")  # the order people read (and QGIS writes)
_PLAIN = re.compile(r"[A-Za-z0-9_.,/:@+-]+")  # a libpq value that needs no quotes


def connection_params(url: str) -> dict[str, str]:
    """The connection's parameters, parsed by libpq itself (a URL, SQLAlchemy-style URL or keyword/value text)."""
    params = conninfo_to_dict(normalise_url(url))
    return {key: str(value) for key, value in params.items() if value is not None}


def _ordered(params: dict[str, str], show_password: bool) -> list[tuple[str, str]]:
    keys = [k for k in _FIRST if k in params] + [k for k in params if k not in _FIRST]
    return [(k, params[k]) for k in keys if show_password or k != "password"]


def _libpq_value(value: str) -> str:
    if value and _PLAIN.fullmatch(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def libpq_form(params: dict[str, str], *, show_password: bool = False) -> str:
    """`host=127.0.0.1 port=5432 dbname=lapis user=lapis`: what QGIS and `psql` accept."""
    return " ".join(f"{key}={_libpq_value(value)}" for key, value in _ordered(params, show_password))


def _url_host(host: str) -> str:
    if host.startswith("/") or "%" in host:  # a socket folder: percent-encoded, as libpq reads it
        return quote(host, safe="")
    return f"[{host}]" if ":" in host else host  # an IPv6 address in brackets


def url_form(params: dict[str, str], *, show_password: bool = False) -> str:
    """`postgresql://user@host:port/dbname?…` (several hosts as libpq writes them: `a:5432,b:5433`)."""
    user = quote(params.get("user", ""), safe="")
    if show_password and params.get("password"):
        user += ":" + quote(params["password"], safe="")
    hosts = params.get("host", "").split(",")
    ports = params.get("port", "").split(",")
    ports += [ports[-1] if len(ports) == 1 else ""] * (len(hosts) - len(ports))
    netloc = ",".join(_url_host(h) + (f":{p}" if p else "") for h, p in zip(hosts, ports, strict=False))
    rest = {k: v for k, v in _ordered(params, show_password) if k not in _FIRST}
    query = f"?{urlencode(rest, quote_via=quote)}" if rest else ""  # libpq reads %20, not +
    return f"postgresql://{user + '@' if user else ''}{netloc}/{quote(params.get('dbname', ''), safe='')}{query}"


def connection_text(url: str, fmt: Format = "url", *, show_password: bool = False) -> tuple[str, bool]:
    """The connection in `fmt`, and whether a password was left out of it."""
    params = connection_params(url)
    text = libpq_form(params, show_password=show_password) if fmt == "libpq" else url_form(
        params, show_password=show_password)
    return text, bool(params.get("password")) and not show_password
