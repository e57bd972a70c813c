"""The open change log shows what is published, never a proposal still open: an editor's change appears in
`/changes` (and its Atom feed) only once an approver publishes it, with the proposal it came with."""

from __future__ import annotations

from fastapi.testclient import TestClient

from spatial.identity.model import Role
from tests.edit_fixtures import (  # noqa: F401 - fixtures
    callers_fixture,
    edit_client_fixture,
    edit_db_fixture,
    zone,
)


def _zone_changes(client: TestClient) -> list[dict]:
    response = client.get("/changes", params={"layer": "zones", "f": "json"})
    assert response.status_code == 200, response.text
    return response.json()["changes"]


def test_a_proposal_enters_the_change_log_when_published(edit_client: TestClient, callers: dict) -> None:
    before = _zone_changes(edit_client)
    created = edit_client.post("/collections/zones/items", json=zone("Z-LOG"), headers=callers[Role.editor])
    assert created.status_code == 201, created.text
    proposal, feature = created.headers["lapis-proposal"], created.headers["location"].rsplit("/", 1)[1]
    assert _zone_changes(edit_client) == before  # open: not in the log
    assert "Z-LOG" not in edit_client.get("/changes", params={"f": "atom"}).text
    published = edit_client.post(f"/proposals/{proposal}/publish", headers=callers[Role.approver])
    assert published.status_code == 200, published.text
    after = _zone_changes(edit_client)
    new = [c for c in after if str(c["featureId"]) == feature]
    assert len(after) == len(before) + 1 and len(new) == 1
    assert new[0]["operation"] == "insert" and str(new[0]["proposal"]) == proposal
    assert "Z-LOG" in edit_client.get("/changes", params={"f": "atom"}).text
