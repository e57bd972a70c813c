"""A connection written for other clients: URL or libpq keyword/value form, the password left out unless asked."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from spatial.conninfo import connection_params, connection_text, libpq_form, url_form

SOCKET_URL = "postgresql://lapis@%2Fsrv%2Flapis%2F.data%2Frun:5432/lapis"
TRICKY = {"host": "db.example.org", "port": "6543", "dbname": "quy hoạch", "user": "nguyễn",
          "password": "p@ss w'o\\rd", "sslmode": "require", "application_name": "LAPIS QGIS"}


def test_a_tcp_url_in_libpq_form() -> None:
    text, hidden = connection_text("postgresql://lapis@127.0.0.1:5432/lapis", "libpq")
    assert text == "host=127.0.0.1 port=5432 dbname=lapis user=lapis"
    assert not hidden


def test_a_socket_folder_host() -> None:
    assert connection_text(SOCKET_URL, "libpq")[0] == "host=/srv/lapis/.data/run port=5432 dbname=lapis user=lapis"
    assert connection_text(SOCKET_URL, "url")[0] == SOCKET_URL
    assert connection_text("postgresql:///lapis?host=/srv/run", "libpq")[0] == "host=/srv/run dbname=lapis"


def test_sqlalchemy_and_keyword_inputs() -> None:
    assert connection_text("postgresql+psycopg://u@h:1/d")[0] == "postgresql://u@h:1/d"
    assert connection_text("host=h port=1 dbname=d user=u")[0] == "postgresql://u@h:1/d"


@pytest.mark.parametrize("fmt", ["url", "libpq"])
def test_the_password_is_left_out_unless_asked(fmt: str) -> None:
    url = "postgresql://lapis:s3cret@127.0.0.1:5432/lapis"
    text, hidden = connection_text(url, fmt)  # type: ignore[arg-type]
    assert "s3cret" not in text and "password" not in text and hidden
    shown, hidden = connection_text(url, fmt, show_password=True)  # type: ignore[arg-type]
    assert "s3cret" in shown and not hidden
    assert conninfo_to_dict(shown)["password"] == "s3cret"
    assert "password" not in conninfo_to_dict(text)


@pytest.mark.parametrize("form", [libpq_form, url_form], ids=["libpq", "url"])
def test_libpq_reads_back_what_was_written(form) -> None:
    """Quotes, backslashes, spaces, '@' and non-ASCII letters survive; so do several hosts."""
    assert conninfo_to_dict(form(TRICKY, show_password=True)) == TRICKY
    hosts = {"host": "a.example.org,/run/pg,::1", "port": "5432,5433,5434", "dbname": "lapis"}
    assert conninfo_to_dict(form(hosts)) == hosts
    assert connection_params(form(TRICKY, show_password=True)) == TRICKY


@pytest.mark.parametrize("fmt", ["url", "libpq"])
def test_both_forms_connect(db_url: str, fmt: str) -> None:
    text, hidden = connection_text(db_url, fmt)  # type: ignore[arg-type]
    assert hidden  # the password is left out: libpq takes it from elsewhere (here: given; PGPASSFILE, ~/.pgpass)
    with psycopg.connect(text, password=conninfo_to_dict(db_url)["password"]) as conn:
        assert conn.execute("SELECT count(*) FROM zones").fetchone()[0] > 0
