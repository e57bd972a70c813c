"""The open change log: `GET /changes` lists every published change newest first, filters by layer, feature, user,
proposal, revision and time, pages with links, and reads as an Atom feed (checked against RFC 4287's rules), RSS and
CSV; what it shows of who made a change follows LAPIS_CHANGES_PUBLIC_WHO. The scene: tests/revision_scene.py."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from lxml import etree

from spatial.history.feed import CSV_COLUMNS
from spatial.identity.model import Role
from tests.helpers import assert_problem, make_settings
from tests.identity_fixtures import bearer, token_for
from tests.revision_scene import APPROVER, PROPOSAL, REASON, RevisionScene, build

OFFICE = "Ủy ban nhân dân tỉnh Long An"
ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")  # RFC 4287 §3.3: upper T, Z
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
# revision 2's changes, newest first: (collection, operation, changed)
BETWEEN = [("projects", "delete", None), ("projects", "insert", None), ("corridors", "update", ["name_en"]),
           ("corridors", "update", ["name_en"]), ("projects", "delete", None), ("projects", "insert", None),
           ("zones", "update", ["geometry"]), ("axes", "update", ["geometry"]),
           ("zones", "update", ["name_en", "props.ap"])]


@pytest.fixture(scope="module")
def app_for(make_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Callable[..., TestClient]]:
    """Clients of apps on one database, each with its own settings (the first one's builds the scene)."""
    from app.main import create_app

    url = make_database()
    opened: list[TestClient] = []

    def make(**settings: Any) -> TestClient:
        client = TestClient(create_app(make_settings(url, tmp_path_factory.mktemp("changes-app"), **settings)))
        opened.append(client.__enter__())
        client.app.state.url = url  # type: ignore[attr-defined]
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def client(app_for: Callable[..., TestClient]) -> TestClient:
    return app_for()


@pytest.fixture(scope="module")
def scene(client: TestClient) -> RevisionScene:
    return build(client.app.state.url, client)  # type: ignore[attr-defined]


def changes(client: TestClient, **params: str) -> list[dict[str, Any]]:
    response = client.get("/changes", params={"limit": "1000", **params})
    assert response.status_code == 200, response.text
    return response.json()["changes"]


def shape(found: list[dict[str, Any]]) -> list[tuple[str, str, list[str] | None]]:
    return [(c["collection"], c["operation"], c["changed"]) for c in found]


def test_every_published_change_newest_first(client: TestClient, scene: RevisionScene) -> None:
    found = changes(client)
    versions = [c["version"] for c in found]
    assert versions == sorted(versions, reverse=True) and len(set(versions)) == len(versions)
    latest = found[0]
    assert (latest["collection"], latest["featureId"], latest["operation"]) == ("zones", scene.later, "update")
    assert latest["changed"] == ["name_vi"] and latest["name_vi"] == "Trung tâm Tân An (sau)"
    assert shape(found[1:10]) == BETWEEN
    assert [link["rel"] for link in latest["links"]] == ["item", "version-history"]
    removed = next(c for c in found if c["operation"] == "delete" and c["featureId"] == scene.removed)
    assert removed["code"] == "DA-QL62"  # named as it was
    assert [link["rel"] for link in removed["links"]] == ["version-history"]
    with psycopg.connect(scene.url) as conn:  # the seed's versions too: every version of every layer
        total = conn.execute("SELECT sum(n) FROM (SELECT count(*) n FROM history.plans UNION ALL SELECT count(*) "
                             "FROM history.admin_units UNION ALL SELECT count(*) FROM history.zones UNION ALL "
                             "SELECT count(*) FROM history.corridors UNION ALL SELECT count(*) FROM history.axes "
                             "UNION ALL SELECT count(*) FROM history.projects UNION ALL SELECT count(*) FROM "
                             "history.parcels UNION ALL SELECT count(*) FROM history.use_rules) t").fetchone()[0]
    assert len(found) == total


def test_the_changes_of_a_revision_and_of_a_span(client: TestClient, scene: RevisionScene) -> None:
    of_revision = changes(client, revision=str(scene.revision))
    assert shape(of_revision) == BETWEEN
    assert changes(client, **{"from": "1", "to": str(scene.revision)}) == of_revision
    assert changes(client, **{"from": scene.before.isoformat(), "to": scene.after.isoformat()}) == of_revision
    assert shape(changes(client, **{"from": str(scene.revision)})) == [("zones", "update", ["name_vi"])]
    assert len(changes(client, revision="1")) == len(changes(client)) - 10  # the seed's versions
    span = client.get("/changes", params={"from": "1", "to": str(scene.revision)}).json()["links"]
    assert any(link["href"].endswith(f"/revisions/1/diff/{scene.revision}") for link in span)


def test_filters_by_layer_feature_proposal_and_user(client: TestClient, scene: RevisionScene) -> None:
    zones = changes(client, layer="zones", revision=str(scene.revision))
    assert [c["featureId"] for c in zones] == [scene.reshaped, scene.renamed]
    two = changes(client, layer="axes,corridors", revision=str(scene.revision))
    assert {c["collection"] for c in two} == {"axes", "corridors"} and len(two) == 3
    history = client.get(f"/collections/zones/items/{scene.renamed}/history").json()["features"]
    assert [c["version"] for c in changes(client, layer="zones", feature=str(scene.renamed))] == \
           [f["version"]["number"] for f in history]
    proposed = changes(client, proposal=str(PROPOSAL))
    assert len(proposed) == 1 and proposed[0]["reason"] == REASON and proposed[0]["proposal"] == PROPOSAL
    signed_in = client.get("/changes", params={"user": APPROVER, "revision": str(scene.revision)},
                           headers=bearer(scene.token))
    assert signed_in.status_code == 200
    assert len(signed_in.json()["changes"]) == 8  # all but the axis moved in plain SQL
    assert {c["who"] for c in signed_in.json()["changes"]} == {APPROVER}


def test_pages_link_to_each_other(client: TestClient, scene: RevisionScene) -> None:
    whole = [c["version"] for c in changes(client)]
    pages: list[list[int]] = []
    body = client.get("/changes?limit=25").json()
    assert not any(link["rel"] == "prev" for link in body["links"])
    while True:
        pages.append([c["version"] for c in body["changes"]])
        rels = {link["rel"]: link["href"].removeprefix("http://testserver") for link in body["links"]}
        if "next" not in rels:
            break
        body = client.get(rels["next"]).json()
    assert sum(pages, []) == whole and len(pages) == -(-len(whole) // 25)
    back: list[list[int]] = []
    while True:  # from the last page back to the first by the prev links
        back.append([c["version"] for c in body["changes"]])
        prev = next((link["href"] for link in body["links"] if link["rel"] == "prev"), None)
        if prev is None:
            break
        body = client.get(prev.removeprefix("http://testserver")).json()
    assert back == pages[::-1]


def _one(parent: Any, tag: str) -> Any:
    found = parent.findall(ATOM + tag)
    assert len(found) == 1, f"{parent.tag} has {len(found)} {tag}"
    return found[0]


def check_atom(document: bytes) -> Any:
    """RFC 4287's rules of a feed document; returns the parsed feed."""
    feed = etree.fromstring(document)
    assert feed.tag == ATOM + "feed"
    for element in (feed, *feed.findall(ATOM + "entry")):
        assert IRI.match(_one(element, "id").text)
        assert _one(element, "title").text
        assert RFC3339.match(_one(element, "updated").text)
        assert len(element.findall(ATOM + "summary")) <= 1
        for author in element.findall(ATOM + "author"):
            assert _one(author, "name").text
        for link in element.findall(ATOM + "link"):
            assert IRI.match(link.get("href"))
        alternates = [(link.get("type"), link.get("hreflang")) for link in element.findall(ATOM + "link")
                      if link.get("rel", "alternate") == "alternate"]
        assert len(alternates) == len(set(alternates))  # at most one alternate per type and language
    entries = feed.findall(ATOM + "entry")
    assert feed.findall(ATOM + "author") or all(e.findall(ATOM + "author") for e in entries)
    for entry in entries:  # no content: an alternate link is a must
        assert not entry.findall(ATOM + "content")
        assert any(link.get("rel", "alternate") == "alternate" for link in entry.findall(ATOM + "link"))
    ids = [_one(entry, "id").text for entry in entries]
    assert len(ids) == len(set(ids))
    return feed


def test_the_change_feed_is_valid_atom(client: TestClient, scene: RevisionScene) -> None:
    response = client.get("/changes", params={"f": "atom", "limit": "5"})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "application/atom+xml"
    feed = check_atom(response.content)
    entries = feed.findall(ATOM + "entry")
    assert len(entries) == 5
    links = {link.get("rel"): link.get("href") for link in feed.findall(ATOM + "link")}
    assert links["self"] == "http://testserver/changes?f=atom&limit=5" and "next" in links
    assert _one(entries[0], "title").text == "Sửa: Vùng và phân khu C1 – Trung tâm Tân An (sau)"
    assert _one(feed, "updated").text == _one(entries[0], "updated").text
    second = client.get(links["next"].removeprefix("http://testserver"))
    page = check_atom(second.content)
    assert {link.get("rel") for link in page.findall(ATOM + "link")} >= {"self", "next", "previous", "first"}
    # an entry keeps its id in any feed it appears in
    ids = [_one(e, "id").text for e in entries]
    zones = check_atom(client.get("/changes", params={"f": "atom", "layer": "zones"}).content)
    assert ids[0] == _one(zones.findall(ATOM + "entry")[0], "id").text
    assert _one(zones, "id").text != _one(feed, "id").text  # another feed
    english = check_atom(client.get("/changes", params={"f": "atom", "limit": "1", "lang": "en"}).content)
    assert _one(english.findall(ATOM + "entry")[0], "title").text.startswith("Changed: Zones C1")


def test_the_change_feed_as_rss(client: TestClient, scene: RevisionScene) -> None:
    response = client.get("/changes", params={"f": "rss", "limit": "4"})
    assert response.headers["content-type"].split(";")[0] == "application/rss+xml"
    channel = etree.fromstring(response.content).find("channel")
    items = channel.findall("item")
    assert channel.findtext("title") and len(items) == 4
    assert len({item.findtext("guid") for item in items}) == 4
    for item in items:
        assert parsedate_to_datetime(item.findtext("pubDate")).tzinfo is not None and item.findtext("link")


def test_the_changes_as_csv_keep_vietnamese(client: TestClient, scene: RevisionScene) -> None:
    response = client.get("/changes", params={"f": "csv", "revision": str(scene.revision)})
    assert response.headers["content-type"].startswith("text/csv") and response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == len(BETWEEN)
    proposed = next(r for r in rows if r["proposal"] == str(PROPOSAL))
    assert proposed["reason"] == REASON and proposed["changed"] == "name_en;props.ap"
    assert proposed["name_vi"] == "Trung tâm Tân An" and proposed["who"] == OFFICE
    assert next(r for r in rows if r["code"] == "DA-REV-MOI")["name_vi"] == "Cảng Long An mở rộng"


def test_who_made_a_change_is_shown_as_configured(app_for: Callable[..., TestClient], client: TestClient,
                                                  scene: RevisionScene) -> None:
    window = {"revision": str(scene.revision)}
    by_office = changes(client, **window)
    assert {c["who"] for c in by_office} == {OFFICE} and not any("role" in c for c in by_office)
    for fmt in ("json", "atom", "rss", "csv", "html"):
        assert APPROVER not in client.get("/changes", params={**window, "f": fmt}).text, fmt
    with psycopg.connect(scene.url) as conn:
        owner = conn.execute("SELECT session_user").fetchone()[0]
    by_role = changes(app_for(changes_public_who="role"), **window)
    assert [c["who"] for c in by_role][-2:] == ["steward", "approver"]  # the axis moved in plain SQL, C1 renamed
    by_name = changes(app_for(changes_public_who="name", changes_office="Sở Xây dựng Long An"), **window)
    assert [(c["who"], c["role"]) for c in by_name][-2:] == [(owner, "steward"), (APPROVER, "approver")]
    other_office = changes(app_for(changes_office="Sở Xây dựng Long An"), **window)
    assert {c["who"] for c in other_office} == {"Sở Xây dựng Long An"}
    viewer = client.get("/changes", params=window, headers=bearer(token_for(scene.url, Role.viewer)))
    assert [c["who"] for c in viewer.json()["changes"]][-1] == APPROVER  # signed in: the names


@pytest.mark.parametrize(("params", "status", "parameter"), [
    ({"from": "2", "to": "1"}, 400, "from"),
    ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, 400, "from"),
    ({"revision": "999"}, 404, "revision"),
    ({"from": "999"}, 404, "from"),
    ({"to": "2026-02-30T00:00:00Z"}, 400, "to"),
    ({"to": "2999-01-01T00:00:00Z"}, 400, "to"),
    ({"from": "yesterday"}, 400, "from"),
    ({"feature": "4"}, 400, "feature"),
    ({"feature": "4", "layer": "zones,axes"}, 400, "feature"),
    ({"layer": "roads"}, 400, "layer"),
    ({"before": "abc"}, 400, "before"),
    ({"limit": "0"}, 400, "limit"),
    ({"user": APPROVER}, 400, "user"),
    ({"f": "xml"}, 400, "f"),
    ({"lang": "fr"}, 400, "lang"),
    ({"colour": "đỏ"}, 400, "colour"),  # a parameter /changes does not take
])
def test_bad_parameters_are_problems(client: TestClient, scene: RevisionScene, params: dict[str, str], status: int,
                                     parameter: str) -> None:
    assert_problem(client.get("/changes", params=params), status, parameter)


def test_the_change_log_as_a_page(client: TestClient, scene: RevisionScene) -> None:
    page = client.get("/changes", params={"f": "html", "revision": str(scene.revision)})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Cảng Long An mở rộng" in page.text and REASON in page.text and "application/atom+xml" in page.text
