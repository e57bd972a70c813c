"""OGC API – Features – Part 4 (Create, Replace, Update and Delete) as its abstract tests read them, on a database of
this module's own: /conf/create-replace-delete (POST, PUT, DELETE), /conf/update (PATCH) and /conf/features (the
resources written are GeoJSON features of the collections' items).

In LAPIS a write goes into the writer's proposal and reaches the public collection when an approver publishes it
(issue 12); each test therefore follows a write through its publication before it reads the result as any client
would, at the URL the write named (`Location`, or the item's own)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from spatial.identity.model import Role
from tests.conformance.ats import GEOJSON, api
from tests.edit_fixtures import (  # noqa: F401 - fixtures
    MERGE_PATCH,
    callers_fixture,
    edit_client_fixture,
    edit_db_fixture,
    zone,
)

ITEMS = "/collections/zones/items"


def publish(client: TestClient, response: Any, callers: dict) -> None:
    proposal = response.headers["lapis-proposal"]
    published = client.post(f"/proposals/{proposal}/publish", headers=callers[Role.approver])
    assert published.status_code == 200, published.text


def created(client: TestClient, callers: dict, code: str) -> str:
    """POST a zone, publish it: the item's URL."""
    response = client.post(ITEMS, json=zone(code), headers=callers[Role.editor])
    assert response.status_code == 201, response.text
    publish(client, response, callers)
    return response.headers["location"]


def test_ats_crd_post(edit_client: TestClient, callers: dict) -> None:
    """/conf/create-replace-delete/insert: POST of a feature to the items → 201 with a Location header; the resource
    there is the feature sent."""
    location = created(edit_client, callers, "ATS-POST")
    feature = edit_client.get(location, headers={"Accept": GEOJSON})
    assert feature.status_code == 200 and feature.headers["content-type"].startswith(GEOJSON)
    assert feature.json()["properties"]["code"] == "ATS-POST" and feature.json()["type"] == "Feature"


def test_ats_crd_put(edit_client: TestClient, callers: dict) -> None:
    """/conf/create-replace-delete/update (PUT): the feature at the URL is replaced by the one sent."""
    location = created(edit_client, callers, "ATS-PUT")
    etag = edit_client.get(location).headers["etag"]
    replaced = edit_client.put(location, json=zone("ATS-PUT", name_en="Replaced"),
                               headers={**callers[Role.editor], "If-Match": etag})
    assert replaced.status_code in (200, 204), replaced.text
    publish(edit_client, replaced, callers)
    assert edit_client.get(location).json()["properties"]["name_en"] == "Replaced"


def test_ats_crd_delete(edit_client: TestClient, callers: dict) -> None:
    """/conf/create-replace-delete/delete: DELETE → 200 or 204; the resource is then gone (404)."""
    location = created(edit_client, callers, "ATS-DEL")
    etag = edit_client.get(location).headers["etag"]
    deleted = edit_client.delete(location, headers={**callers[Role.editor], "If-Match": etag})
    assert deleted.status_code in (200, 204), deleted.text
    publish(edit_client, deleted, callers)
    assert edit_client.get(location).status_code == 404


def test_ats_update_patch(edit_client: TestClient, callers: dict) -> None:
    """/conf/update/update: PATCH with a JSON Merge Patch changes only what it names."""
    location = created(edit_client, callers, "ATS-PATCH")
    before = edit_client.get(location)
    patched = edit_client.patch(location, content=b'{"properties": {"name_en": "Patched"}}',
                                headers={**callers[Role.editor], "If-Match": before.headers["etag"],
                                         "Content-Type": MERGE_PATCH})
    assert patched.status_code in (200, 204), patched.text
    publish(edit_client, patched, callers)
    after = edit_client.get(location).json()
    assert after["properties"]["name_en"] == "Patched"
    assert after["properties"]["name_vi"] == before.json()["properties"]["name_vi"]
    assert after["geometry"] == before.json()["geometry"]


def test_ats_features_operations_in_the_api(edit_client: TestClient) -> None:
    """/conf/features: the API definition lists POST on the items path and PUT, PATCH and DELETE on the item path,
    each with its request body where it takes one."""
    paths = api(edit_client)["paths"]
    items, item = paths["/collections/{collectionId}/items"], paths["/collections/{collectionId}/items/{featureId}"]
    assert "post" in items and {"put", "patch", "delete"} <= set(item)
    for operation in (items["post"], item["put"], item["patch"]):
        assert operation["requestBody"]["content"]
