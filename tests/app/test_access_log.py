"""`lapis serve`'s access log: every request recorded on the request path for the cost of an append, lines
formatted and written by a thread in writes that never split a line across processes."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.access_log import PIPE_BUF, AccessLog, AccessLogWriter, Entry, LineFormat, open_writer
from app.main import create_app
from spatial.tiles.grid import lonlat_to_tile
from tests.helpers import make_settings


def entry(path: bytes, *, query: bytes = b"", client: str = "127.0.0.1", status: int = 200, size: int = 0,
          started: float = 0.0, ended: float = 0.0) -> Entry:
    return (started, ended, client, "GET", path, query, "1.1", status, size)


def test_a_line_says_who_asked_what_and_how_it_went() -> None:
    line = LineFormat()
    text = line(entry(b"/search", query=b"q=t%C3%A2n+an", client="10.0.0.7", size=812, started=1_790_000_000.249,
                      ended=1_790_000_000.2502))
    assert text == '2026-09-21T14:13:20.250Z 10.0.0.7 "GET /search?q=t%C3%A2n+an HTTP/1.1" 200 812 1.2ms\n'
    later = line(entry(b"/", status=304, started=1_790_000_001.0, ended=1_790_000_001.5))  # the next second
    assert later.startswith('2026-09-21T14:13:21.500Z 127.0.0.1 "GET / HTTP/1.1" 304 0 ')
    # no response (the client went away), and bytes that would fake a line or garble it
    odd = line(entry(b'/a"b\\c\n\xc3\xa2', client="-", status=0))
    assert odd == '1970-01-01T00:00:00.000Z - "GET /a%22b%5Cc%0A%C3%A2 HTTP/1.1" - 0 0.0ms\n'


def test_every_recorded_request_reaches_the_output() -> None:
    read_end, write_end = os.pipe()
    writer = AccessLogWriter(write_end, interval_s=3600)  # flushed by hand here
    try:
        for n in range(500):
            writer.record(entry(f"/collections/zones/items/{n}".encode(), size=n, ended=0.001))
        writer.close()
        os.close(write_end)
        chunks = []
        while chunk := os.read(read_end, 65536):
            chunks.append(chunk)
    finally:
        os.close(read_end)
    data = b"".join(chunks)
    lines = data.decode().splitlines()
    assert len(lines) == 500 and lines[-1].endswith('"GET /collections/zones/items/499 HTTP/1.1" 200 499 1.0ms')


def test_batches_are_cut_into_whole_lines_that_fit_an_atomic_pipe_write(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []
    writer = AccessLogWriter(os.open(tmp_path / "log", os.O_WRONLY | os.O_CREAT), interval_s=3600)
    real_write = os.write

    def noting_write(fd: int, data: bytes) -> int:
        sizes.append(len(data))
        assert data.endswith(b"\n")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", noting_write)
    for n in range(300):
        writer.record(entry(b"/x" * 20, size=n))
    writer.close()
    assert len(sizes) > 1 and max(sizes) <= PIPE_BUF  # 300 lines of ~80 bytes: several writes
    assert len((tmp_path / "log").read_text().splitlines()) == 300


def test_lines_beyond_the_pending_bound_are_dropped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "log"
    writer = AccessLogWriter(os.open(path, os.O_WRONLY | os.O_CREAT), interval_s=3600, max_pending=10)
    for _ in range(25):
        writer.record(entry(b"/"))
    writer.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 11 and lines[-1] == "access log: 15 lines dropped (output too slow)"


def test_the_app_wrapped_logs_routes_and_the_tile_fast_path(db_url: str, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "access.log"
    writer = open_writer(str(log))
    assert writer is not None and open_writer("off") is None
    tile = lonlat_to_tile(106.413, 10.535, 9)
    with TestClient(AccessLog(create_app(make_settings(db_url, tmp_path)), writer)) as client:
        assert client.get(f"/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}").status_code == 200
        assert client.get("/collections/nowhere").status_code == 404
    writer.close()
    text = log.read_text()
    assert re.search(rf'"GET /tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x} HTTP/1.1" 200 [1-9]\d* ', text), text
    assert '"GET /collections/nowhere HTTP/1.1" 404 ' in text
