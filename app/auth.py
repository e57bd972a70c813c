"""Who is calling: `Authorization: Bearer <token>` resolved to a LAPIS identity, and role requirements for routes.

No `Authorization` header is an anonymous reader (everything published stays readable without signing in). A
header that is there but not a live token is a 401 — never a quiet fall-back to anonymous, so a client with an
expired token learns it. The token is a LAPIS API token (`lapis tokens create`) or, when OpenID Connect is
configured, a JWT of the province's identity provider (three dot-separated parts: `spatial.identity.oidc`).
Failed sign-ins are limited per client address (`app.signin`: 429). The token itself is never logged or echoed,
and a token in the URL (`?access_token=`) is refused: URLs end up in logs, proxies and browser history.

Both dependencies carry a FastAPI security scheme (`app.openapi_security`), so the API definition shows which
operations accept a token and which need one (and which role) without each route saying so.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from app.dependencies import ServicesDep
from app.openapi_security import BEARER, ROLE_MARKS
from app.problems import REQUEST_ID, Problem
from app.services import Services
from app.signin import SignIn, client_key, sign_in_of
from spatial.errors import Forbidden, InvalidParameter, Unauthenticated
from spatial.identity.model import ANONYMOUS, Identity, Role
from spatial.identity.oidc import KeysUnavailable, TokenRejected, looks_like_jwt
from spatial.identity.tokens import identity_of_token

log = logging.getLogger("lapis")
QUERY_TOKENS = ("access_token", "token", "id_token")
NOT_VALID = "the token is not valid (unknown, expired or revoked)"


def refuse_tokens_in_url(request: Request) -> None:
    """400 naming a token parameter of the query string, on any route (`app.query_params` asks this first)."""
    for name in QUERY_TOKENS:
        if name in request.query_params:
            raise InvalidParameter(f"{name}: send a token only as 'Authorization: Bearer <token>', never in the URL",
                                   parameter=name)


async def get_caller(request: Request, services: ServicesDep,
                     _documented: Annotated[object, Depends(BEARER)]) -> Identity:
    refuse_tokens_in_url(request)
    header = request.headers.get("authorization")
    if header is None:
        return ANONYMOUS
    sign_in = sign_in_of(request.app)
    client = client_key(request.client.host if request.client else "-")
    sign_in.limiter.check(client)
    try:
        return await _identity(header, services, sign_in)
    except Unauthenticated:
        sign_in.limiter.failed(client)
        raise


async def _identity(header: str, services: Services, sign_in: SignIn) -> Identity:
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("Authorization: use 'Bearer <token>' with a LAPIS API token",
                              parameter="Authorization")
    if sign_in.oidc is not None and looks_like_jwt(token):
        try:
            return await sign_in.oidc.identity(token)
        except TokenRejected as exc:
            log.info("request %s: OpenID Connect sign-in refused: %.300s", REQUEST_ID.get(), exc)
            raise Unauthenticated(NOT_VALID, parameter="Authorization") from None
        except KeysUnavailable as exc:
            log.warning("request %s: %s", REQUEST_ID.get(), exc)
            raise Problem(503, "Sign-in unavailable", "the identity provider's keys cannot be read; retry shortly",
                          headers={"Retry-After": "5"}) from None
    async with services.pools.api.acquire() as conn:
        identity = await identity_of_token(conn, token)
    if identity is None:
        raise Unauthenticated(NOT_VALID, parameter="Authorization")
    return identity


CallerDep = Annotated[Identity, Depends(get_caller)]


def require(role: Role) -> Callable[..., Awaitable[Identity]]:
    """A dependency that lets through callers of at least `role`: 401 for anonymous ones, 403 for lower roles."""

    async def caller_with_role(caller: CallerDep, _documented: None = Depends(ROLE_MARKS[role])) -> Identity:
        if caller.role is Role.anonymous:
            raise Unauthenticated(f"this needs a signed-in {role.value}: send 'Authorization: Bearer <token>'",
                                  parameter="Authorization")
        if not caller.at_least(role):
            raise Forbidden(f"this needs the {role.value} role; {caller.user} is {caller.role.value}")
        return caller

    return caller_with_role
