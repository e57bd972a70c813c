"""Who may write: every role × every write route. No token is a 401 problem (with `WWW-Authenticate: Bearer`), a
role below the route's a 403 problem, and at or above it the write happens: editors, approvers and admins write
features (POST, PUT, PATCH, DELETE) into their proposals; only approvers and admins publish and reject."""

from __future__ import annotations

import itertools

import pytest
from fastapi.testclient import TestClient

from spatial.identity.model import Role
from tests.edit_fixtures import (  # noqa: F401 - fixtures
    MERGE_PATCH,
    ROLES,
    callers_fixture,
    edit_client_fixture,
    edit_db_fixture,
    zone,
)
from tests.helpers import PROBLEM

WRITERS = (Role.editor, Role.approver, Role.admin)
DECIDERS = (Role.approver, Role.admin)
_codes = itertools.count(1)
# each (role, route) changes a project of its own: two pending changes of one feature would be a 409
PROJECT_OF = {(role, op): i + 1 for i, (role, op) in enumerate(itertools.product(ROLES, ("put", "patch", "delete")))}


def _expected(role: Role, allowed: tuple[Role, ...], ok: int) -> int:
    if role is Role.anonymous:
        return 401
    return ok if role in allowed else 403


def _check(response: object, status: int) -> None:
    assert response.status_code == status, response.text
    if status in (401, 403):
        assert response.headers["content-type"] == PROBLEM
        if status == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")


def _project(client: TestClient, role: Role, op: str) -> tuple[str, dict, str]:
    url = f"/collections/projects/items/{PROJECT_OF[(role, op)]}"
    got = client.get(url)
    assert got.status_code == 200
    return url, got.json(), got.headers["etag"]


@pytest.mark.parametrize("role", ROLES)
def test_create(edit_client: TestClient, callers: dict, role: Role) -> None:
    response = edit_client.post("/collections/zones/items", json=zone(f"Z-ROLE-{next(_codes)}"),
                                headers=callers[role])
    _check(response, _expected(role, WRITERS, 201))


@pytest.mark.parametrize("role", ROLES)
def test_replace(edit_client: TestClient, callers: dict, role: Role) -> None:
    url, feature, etag = _project(edit_client, role, "put")
    feature["properties"] = {k: v for k, v in feature["properties"].items() if k != "props"} | {"status": "completed"}
    response = edit_client.put(url, json=feature, headers={**callers[role], "If-Match": etag})
    _check(response, _expected(role, WRITERS, 200))


@pytest.mark.parametrize("role", ROLES)
def test_update(edit_client: TestClient, callers: dict, role: Role) -> None:
    url, _, etag = _project(edit_client, role, "patch")
    response = edit_client.patch(url, content=b'{"properties": {"name_en": "Renamed"}}',
                                 headers={**callers[role], "If-Match": etag, "Content-Type": MERGE_PATCH})
    _check(response, _expected(role, WRITERS, 200))


@pytest.mark.parametrize("role", ROLES)
def test_delete(edit_client: TestClient, callers: dict, role: Role) -> None:
    url, _, etag = _project(edit_client, role, "delete")
    _check(edit_client.delete(url, headers={**callers[role], "If-Match": etag}), _expected(role, WRITERS, 204))


def _pending_proposal(client: TestClient, callers: dict) -> int:
    """A new open proposal of an editor, with one change in it."""
    editor = callers[Role.editor]
    created = client.post("/proposals", json={"title": "Đề xuất"}, headers=editor)
    assert created.status_code == 201, created.text
    proposal = created.json()["id"]
    change = client.post("/collections/zones/items", params={"proposal": proposal},
                         json=zone(f"Z-DECIDE-{next(_codes)}", lon=106.2), headers=editor)
    assert change.status_code == 201 and change.headers["lapis-proposal"] == str(proposal)
    return proposal


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES, ("publish", "reject"))))
def test_publish_and_reject(edit_client: TestClient, callers: dict, role: Role, action: str) -> None:
    proposal = _pending_proposal(edit_client, callers)
    response = edit_client.post(f"/proposals/{proposal}/{action}", headers=callers[role])
    _check(response, _expected(role, DECIDERS, 200))
    state = edit_client.get(f"/proposals/{proposal}", headers=callers[Role.approver]).json()["state"]
    assert state == ({"publish": "published", "reject": "rejected"}[action] if response.status_code == 200
                     else "open")


@pytest.mark.parametrize("role", ROLES)
def test_reading_proposals(edit_client: TestClient, callers: dict, role: Role) -> None:
    _check(edit_client.get("/proposals", headers=callers[role]), _expected(role, WRITERS, 200))
