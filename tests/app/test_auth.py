"""Bearer tokens on the API: who `/me` says the caller is, and 401s that are problem+json."""

from __future__ import annotations

from fastapi.testclient import TestClient

from spatial.identity.model import Role
from tests.identity_fixtures import bearer, token_for


def test_anonymous_callers_are_anonymous(client: TestClient) -> None:
    response = client.get("/me")
    assert response.status_code == 200
    assert response.json() == {"user": None, "role": "anonymous"}
    assert "no-store" in response.headers["cache-control"]


def test_a_token_signs_in_its_user(client: TestClient, db_url: str) -> None:
    token = token_for(db_url, Role.approver, name="thu.tran")
    response = client.get("/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {"user": "thu.tran", "role": "approver"}


def test_bad_credentials_are_401_problems(client: TestClient) -> None:
    for header in ("Bearer lapis_" + "x" * 43, "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer "):
        response = client.get("/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"].startswith("Bearer")
        body = response.json()
        assert body["parameter"] == "Authorization"
        assert "x" * 43 not in response.text and "dXNlcjpwYXNz" not in response.text
