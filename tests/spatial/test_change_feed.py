"""The change log's feeds without a server: any text a change carries makes a well-formed Atom and RSS document (XML
1.0 cannot carry control characters: they are left out, the rest kept), tag URIs name the host without its port,
and what a feed shows of who made a change follows the disclosure."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

from lxml import etree

from spatial.history.changes import Change, Disclosure
from spatial.history.feed import EntryLinks, Feed, atom, changes_csv, rfc3339, rss, tag_id
from spatial.layers import LAYERS

ATOM = "{http://www.w3.org/2005/Atom}"
WHEN = datetime(2026, 11, 27, 17, 30, 5, 123456, tzinfo=timezone(timedelta(hours=7)))
CHANGE = Change(42, "zones", 4, "update", WHEN, "lan.nguyen", "lapis_editor", 7, "sửa\x01 ranh giới\x0b <b>&",
                "C1", "Trung tâm Tân An", "Tan An centre", ("geometry", "name_en"))
LINKS = EntryLinks("http://plan.example.vn/collections/zones/items/4",
                   "http://plan.example.vn/collections/zones/items/4/history")
OFFICE = Disclosure("office", "Sở Xây dựng Long An")


def test_rfc3339_and_tag_ids() -> None:
    assert rfc3339(WHEN) == "2026-11-27T10:30:05.123456Z"
    assert tag_id("plan.example.vn:8443", "changes/42") == "tag:plan.example.vn,2023-06-13:changes/42"
    assert tag_id("[::1]:8000", "changes") == "tag:::1,2023-06-13:changes"


def test_any_text_makes_a_well_formed_feed() -> None:
    feed = Feed("tag:plan.example.vn,2023-06-13:changes", "http://plan.example.vn/changes?f=atom", WHEN,
                OFFICE.office)
    document = etree.fromstring(atom(feed, [(CHANGE, LINKS)], OFFICE, dict(LAYERS), "plan.example.vn"))
    entry = document.find(ATOM + "entry")
    assert entry.findtext(ATOM + "summary") == ("Người thực hiện: Sở Xây dựng Long An · Lý do: sửa ranh giới <b>& · "
                                                "Thay đổi: geometry, name_en · Đề xuất #7")
    assert entry.findtext(ATOM + "title") == "Sửa: Vùng và phân khu C1 – Trung tâm Tân An"
    assert entry.find(ATOM + "author").findtext(ATOM + "name") == "Sở Xây dựng Long An"
    assert entry.findtext(ATOM + "updated") == "2026-11-27T10:30:05.123456Z"
    channel = etree.fromstring(rss(feed, [(CHANGE, LINKS)], OFFICE, dict(LAYERS), "plan.example.vn",
                                   "http://plan.example.vn/changes?f=html")).find("channel")
    assert channel.find("item").findtext("description").startswith("Người thực hiện: Sở Xây dựng Long An")
    assert channel.find("item").findtext("pubDate") == "Fri, 27 Nov 2026 10:30:05 GMT"


def test_the_disclosure_decides_who_is_shown() -> None:
    assert OFFICE.describe("lan.nguyen", "lapis_editor") == {"who": "Sở Xây dựng Long An"}
    assert Disclosure("role", "x").describe("lan.nguyen", "lapis_editor") == {"who": "editor", "role": "editor"}
    assert Disclosure("role", "x").describe("postgres", "postgres") == {"who": "steward", "role": "steward"}
    assert Disclosure("name", "x").describe("lan.nguyen", "lapis_editor") == {"who": "lan.nguyen", "role": "editor"}
    rows = list(csv.reader(io.StringIO(changes_csv([(CHANGE, LINKS)], Disclosure("name", "x")).decode("utf-8-sig"))))
    assert rows[1][8:14] == ["lan.nguyen", "editor", "7", "sửa\x01 ranh giới\x0b <b>&", "geometry;name_en",
                             LINKS.alternate]
    assert datetime.fromisoformat(rows[1][1].replace("Z", "+00:00")) == WHEN.astimezone(UTC)
