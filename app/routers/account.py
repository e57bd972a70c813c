"""The caller's own account: `/me` says who a token signs in as (the map's sign-in checks a token with it)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from app.auth import CallerDep
from app.negotiate import json_response

router = APIRouter(tags=["account"])


@router.get("/me", summary="Who the request is signed in as", response_model=None)
async def me(caller: CallerDep) -> Response:
    """`{"user": null, "role": "anonymous"}` without a token; with `Authorization: Bearer <token>`, its user and
    role (401 if the token is not valid)."""
    return json_response({"user": caller.user, "role": caller.role.value},
                         headers={"Cache-Control": "private, no-store", "Vary": "Authorization"})
