"""Shared pieces of the editing tests (issue 12: OGC API – Features Part 4 as proposals): features to write, signed-in
callers of every role, and an app on a database of the module's own (edits must not reach the session's shared
one). A test module takes the fixtures by importing `edit_db_fixture`, `edit_client_fixture` and `callers_fixture`
(named `edit_db`, `edit_client`, `callers`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from spatial.identity.model import Role
from tests.helpers import make_settings
from tests.identity_fixtures import bearer, token_for

TAN_AN = (106.413, 10.535)  # inside Tân An, the centre C1 and region R1
MERGE_PATCH = "application/merge-patch+json"
ROLES = (Role.anonymous, Role.viewer, Role.editor, Role.approver, Role.admin)


def square(lon: float, lat: float, size: float = 0.002) -> dict[str, Any]:
    """A GeoJSON Polygon: a square of `size` degrees with its south-west corner at lon, lat."""
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def zone(code: str, lon: float = TAN_AN[0], lat: float = TAN_AN[1], **properties: Any) -> dict[str, Any]:
    """A new zone as a GeoJSON Feature (kind 'urban' unless given)."""
    return {"type": "Feature", "geometry": square(lon, lat),
            "properties": {"code": code, "name_vi": f"Khu {code}", "kind": "urban", **properties}}


def headers_of(db_url: str) -> dict[Role, dict[str, str]]:
    """A signed-in caller of every role (anonymous: no header), each a new user."""
    return {role: {} if role is Role.anonymous else bearer(token_for(db_url, role)) for role in ROLES}


def patch_headers(auth: dict[str, str], etag: str | None) -> dict[str, str]:
    return {**auth, "Content-Type": MERGE_PATCH, **({"If-Match": etag} if etag is not None else {})}


@pytest.fixture(scope="module", name="edit_db")
def edit_db_fixture(make_database: Callable[[], str]) -> str:
    """A seeded database of the module's own."""
    return make_database()


@pytest.fixture(scope="module", name="edit_client")
def edit_client_fixture(edit_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from app.main import create_app

    with TestClient(create_app(make_settings(edit_db, tmp_path_factory.mktemp("edit-app")))) as client:
        yield client


@pytest.fixture(scope="module", name="callers")
def callers_fixture(edit_db: str) -> dict[Role, dict[str, str]]:
    return headers_of(edit_db)
