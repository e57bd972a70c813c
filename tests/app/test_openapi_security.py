"""The API definition shows the bearer scheme, and which operations accept a token and which need one — for
routes added later too, found from their dependencies (`CallerDep`, `require(role)`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from app.auth import CallerDep, require
from app.main import create_app
from spatial.identity.model import Identity, Role
from tests.helpers import make_settings
from tests.identity_fixtures import bearer, token_for

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def test_api_shows_the_bearer_scheme_and_optional_sign_in(client: TestClient) -> None:
    spec = client.get("/api").json()
    assert list(spec["components"]["securitySchemes"]) == ["bearerAuth"]
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer" and "lapis tokens create" in scheme["description"]
    me = spec["paths"]["/me"]["get"]
    assert me["security"] == [{}, {"bearerAuth": []}]  # anonymous is fine; a token is honoured
    assert set(me["responses"]) >= {"200", "401", "429"} and "403" not in me["responses"]
    assert me["responses"]["401"]["content"]["application/problem+json"]["schema"] == PROBLEM_REF
    assert "security" not in spec["paths"]["/collections"]["get"]  # public reads say nothing of tokens
    assert "security" not in spec  # no global requirement: reading needs no sign-in


def add_guarded_routes(app: Any) -> None:
    """Routes as the Part 4 writes will add them: a role in the decorator, in a parameter, or on a router."""

    @app.post("/test-guarded/edit", dependencies=[Depends(require(Role.editor))])
    async def edit() -> dict[str, str]:
        return {"ok": "edit"}

    @app.post("/test-guarded/publish")
    async def publish(caller: Annotated[Identity, Depends(require(Role.approver))]) -> dict[str, str | None]:
        return {"by": caller.user}

    admin = APIRouter(dependencies=[Depends(require(Role.admin))])

    @admin.delete("/test-guarded/users/{name}")
    async def remove(name: str, caller: CallerDep) -> dict[str, str | None]:
        return {"removed": name, "by": caller.user}

    app.include_router(admin)


def test_routes_that_require_a_role_get_the_security_requirement(db_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(db_url, tmp_path))
    add_guarded_routes(app)
    with TestClient(app) as client:
        spec = client.get("/api").json()
        assert list(spec["components"]["securitySchemes"]) == ["bearerAuth"]  # the per-role marks are gone
        operations = {("/test-guarded/edit", "post"): "editor", ("/test-guarded/publish", "post"): "approver",
                      ("/test-guarded/users/{name}", "delete"): "admin"}
        for (path, method), role in operations.items():
            operation = spec["paths"][path][method]
            assert operation["security"] == [{"bearerAuth": []}], path
            assert operation["x-lapis-role"] == role and f"**{role}**" in operation["description"]
            for status in ("401", "403", "429"):
                assert operation["responses"][status]["content"]["application/problem+json"]["schema"] == PROBLEM_REF
        # the marks change nothing at run time: require() still decides
        editor, viewer = token_for(db_url, Role.editor), token_for(db_url, Role.viewer)
        assert client.post("/test-guarded/edit").status_code == 401
        assert client.post("/test-guarded/edit", headers=bearer(viewer)).status_code == 403
        assert client.post("/test-guarded/edit", headers=bearer(editor)).json() == {"ok": "edit"}
        assert client.post("/test-guarded/publish", headers=bearer(editor)).status_code == 403
        assert client.delete("/test-guarded/users/x", headers=bearer(editor)).status_code == 403
        admin = token_for(db_url, Role.admin, name="quan.tri")
        assert client.delete("/test-guarded/users/x", headers=bearer(admin)).json() == {"removed": "x",
                                                                                        "by": "quan.tri"}
