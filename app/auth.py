"""Who is calling: `Authorization: Bearer <token>` resolved to a LAPIS identity, and role requirements for routes.

No `Authorization` header is an anonymous reader (everything published stays readable without signing in). A
header that is there but not a live token is a 401 — never a quiet fall-back to anonymous, so a client with an
expired token learns it. The token itself is never logged or echoed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from app.dependencies import ServicesDep
from spatial.errors import Forbidden, Unauthenticated
from spatial.identity.model import ANONYMOUS, Identity, Role
from spatial.identity.tokens import identity_of_token


async def get_caller(request: Request, services: ServicesDep) -> Identity:
    header = request.headers.get("authorization")
    if header is None:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization: use 'Bearer <token>' with a LAPIS API token",
                              parameter="Authorization")
    async with services.pools.api.acquire() as conn:
        identity = await identity_of_token(conn, token.strip())
    if identity is None:
        raise Unauthenticated("the token is not valid (unknown, expired or revoked)", parameter="Authorization")
    return identity


CallerDep = Annotated[Identity, Depends(get_caller)]


def require(role: Role) -> Callable[..., Awaitable[Identity]]:
    """A dependency that lets through callers of at least `role`: 401 for anonymous ones, 403 for lower roles."""

    async def caller_with_role(caller: CallerDep) -> Identity:
        if caller.role is Role.anonymous:
            raise Unauthenticated(f"this needs a signed-in {role.value}: send 'Authorization: Bearer <token>'",
                                  parameter="Authorization")
        if not caller.at_least(role):
            raise Forbidden(f"this needs the {role.value} role; {caller.user} is {caller.role.value}")
        return caller

    return caller_with_role
