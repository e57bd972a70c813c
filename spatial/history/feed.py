"""The change log as feeds the press and the public follow: Atom 1.0 (RFC 4287), RSS 2.0 and CSV.

Each change is one entry: its id a tag URI (RFC 4151) of the serving host and the change's version number — the
version sequence is one for every layer, so the id names the change for good — its title what happened to which
feature, its summary who (as the `Disclosure` allows), why, which attributes and under which proposal, and its link
the feature (or, once deleted, its history). Texts are in Vietnamese or English; names stay as recorded. Characters
XML 1.0 cannot carry (control characters) are left out of the feeds; the CSV keeps every text as it is, UTF-8 with a
byte-order mark so that spreadsheet programs read Vietnamese right.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Literal
from urllib.parse import urlsplit

from spatial.history.changes import Change, Disclosure
from spatial.registry import Layer

ATOM_NS = "http://www.w3.org/2005/Atom"
TAG_DATE = "2023-06-13"  # the date of Decision 686/QĐ-TTg: the tag URIs' date, fixed for good
Lang = Literal["vi", "en"]
VERBS = {"vi": {"insert": "Thêm", "update": "Sửa", "delete": "Xóa"},
         "en": {"insert": "Added", "update": "Changed", "delete": "Removed"}}
WORDS = {"vi": {"by": "Người thực hiện", "reason": "Lý do", "changed": "Thay đổi", "proposal": "Đề xuất",
                "title": "Nhật ký thay đổi quy hoạch tỉnh Long An"},
         "en": {"by": "By", "reason": "Reason", "changed": "Changed", "proposal": "Proposal",
                "title": "Long An provincial plan: change log"}}
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
ET.register_namespace("atom", ATOM_NS)  # RSS carries atom:link rel=self
CSV_COLUMNS = ("version", "time", "collection", "featureId", "code", "name_vi", "name_en", "operation", "who",
               "role", "proposal", "reason", "changed", "link")


@dataclass(frozen=True)
class EntryLinks:
    alternate: str  # the feature (or its history, once deleted)
    history: str


@dataclass(frozen=True)
class Feed:
    """A page of the change log as a feed: its id, the links of the page (self, alternate, first, next, previous)."""

    id: str
    self_url: str
    updated: datetime
    author: str
    links: list[tuple[str, str, str]] = field(default_factory=list)  # rel, media type, href
    lang: Lang = "vi"


def rfc3339(instant: datetime) -> str:
    """UTC with an upper-case T and Z (RFC 4287 §3.3)."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def tag_id(authority: str, specific: str) -> str:
    """A tag URI (RFC 4151) of the serving host (its name, without a port)."""
    return f"tag:{urlsplit('//' + authority).hostname or 'localhost'},{TAG_DATE}:{specific}"


def _xml(text: str) -> str:
    return NOT_XML.sub("", text)


def title(change: Change, layer: Layer | None, lang: Lang) -> str:
    layer_title = (layer.title_en if lang == "en" else layer.title_vi) if layer else change.layer
    name = (change.name_en or change.name_vi) if lang == "en" else (change.name_vi or change.name_en)
    feature = " – ".join(part for part in (change.code, name) if part) or f"#{change.feature_id}"
    return f"{VERBS[lang][change.operation]}: {layer_title} {feature}"


def summary(change: Change, disclosure: Disclosure, lang: Lang) -> str:
    words = WORDS[lang]
    parts = [f"{words['by']}: {disclosure.describe(change.who, change.db_role)['who']}"]
    if change.reason:
        parts.append(f"{words['reason']}: {change.reason}")
    if change.changed:
        parts.append(f"{words['changed']}: {', '.join(change.changed)}")
    if change.proposal is not None:
        parts.append(f"{words['proposal']} #{change.proposal}")
    return " · ".join(parts)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _xml(v) for k, v in attributes.items()})
    if text is not None:
        element.text = _xml(text)
    return element


def atom(feed: Feed, changes: list[tuple[Change, EntryLinks]], disclosure: Disclosure,
         layers: dict[str, Layer], authority: str) -> bytes:
    """An Atom 1.0 feed document of the changes (newest first)."""
    # the Atom namespace as the default one, written out (ElementTree's own would prefix every element)
    root = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": feed.lang})
    _sub(root, "id", feed.id)
    _sub(root, "title", WORDS[feed.lang]["title"])
    _sub(root, "updated", rfc3339(feed.updated))
    _sub(_sub(root, "author"), "name", feed.author)
    _sub(root, "generator", "LAPIS")
    _sub(root, "link", rel="self", type="application/atom+xml", href=feed.self_url)
    for rel, media, href in feed.links:
        _sub(root, "link", rel=rel, type=media, href=href)
    for change, links in changes:
        entry = _sub(root, "entry")
        _sub(entry, "id", tag_id(authority, f"changes/{change.version}"))
        _sub(entry, "title", title(change, layers.get(change.layer), feed.lang))
        _sub(entry, "updated", rfc3339(change.valid_from))
        _sub(_sub(entry, "author"), "name", disclosure.describe(change.who, change.db_role)["who"])
        _sub(entry, "summary", summary(change, disclosure, feed.lang))
        _sub(entry, "link", rel="alternate", type="application/geo+json", href=links.alternate)
        _sub(entry, "link", rel="version-history", type="application/geo+json", href=links.history)
        _sub(entry, "category", term=change.layer)
        _sub(entry, "category", term=change.operation, scheme="urn:lapis:operation")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def rss(feed: Feed, changes: list[tuple[Change, EntryLinks]], disclosure: Disclosure, layers: dict[str, Layer],
        authority: str, html_url: str) -> bytes:
    """An RSS 2.0 document of the same changes."""
    root = ET.Element("rss", {"version": "2.0"})
    channel = _sub(root, "channel")
    _sub(channel, "title", WORDS[feed.lang]["title"])
    _sub(channel, "link", html_url)
    _sub(channel, "description", WORDS[feed.lang]["title"])
    _sub(channel, "language", feed.lang)
    _sub(channel, "lastBuildDate", format_datetime(feed.updated.astimezone(UTC), usegmt=True))
    _sub(channel, f"{{{ATOM_NS}}}link", rel="self", type="application/rss+xml", href=feed.self_url)
    for change, links in changes:
        item = _sub(channel, "item")
        _sub(item, "title", title(change, layers.get(change.layer), feed.lang))
        _sub(item, "link", links.alternate)
        _sub(item, "guid", tag_id(authority, f"changes/{change.version}"), isPermaLink="false")
        _sub(item, "pubDate", format_datetime(change.valid_from.astimezone(UTC), usegmt=True))
        _sub(item, "description", summary(change, disclosure, feed.lang))
        _sub(item, "category", change.layer)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def changes_csv(changes: list[tuple[Change, EntryLinks]], disclosure: Disclosure) -> bytes:
    """The changes as CSV (UTF-8 with a byte-order mark); `role` is empty where the disclosure shows none."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for change, links in changes:
        shown = disclosure.describe(change.who, change.db_role)
        writer.writerow([change.version, rfc3339(change.valid_from), change.layer, change.feature_id, change.code,
                         change.name_vi, change.name_en, change.operation, shown["who"], shown.get("role", ""),
                         change.proposal if change.proposal is not None else "", change.reason or "",
                         ";".join(change.changed or ()), links.alternate])
    return ("\ufeff" + out.getvalue()).encode()
