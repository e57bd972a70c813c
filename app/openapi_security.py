"""Sign-in in the API definition: the bearer security scheme, and on every operation that reads the caller, whether
a token is needed (and which role) or only accepted — found from the routes' dependencies, so a route added later
(the Part 4 writes) is described as soon as it uses `CallerDep` or `require(role)`.

How it is found: `get_caller` depends on `BEARER`, and `require(role)` on `ROLE_MARKS[role]`, both FastAPI security
schemes; FastAPI lists, per operation, every scheme its dependencies (routers', nested ones too) reach.
`describe_security` then turns those into what a client should read:
- an operation that needs a role: `security: [{bearerAuth: []}]`, 401, 403 and 429 problems, and the role named;
- one that only reads the caller (anonymous is fine, a token is honoured): `security: [{}, {bearerAuth: []}]`
  (optional), 401 (a token that is not valid) and 429.
The per-role marks are dropped from `components.securitySchemes`, leaving `bearerAuth` alone.
"""

from __future__ import annotations

from typing import Any

from fastapi.security import HTTPBearer
from starlette.requests import HTTPConnection

from app.problems import PROBLEM_JSON
from spatial.identity.model import USER_ROLES, Role

SCHEME = "bearerAuth"
ROLE_MARK = "lapisRole."
BEARER = HTTPBearer(
    auto_error=False, scheme_name=SCHEME,
    description="A personal LAPIS API token (`lapis tokens create --user U`), or — when the server is set up for "
                "OpenID Connect — an access token (JWT) of the province's identity provider. Send it as "
                "`Authorization: Bearer <token>`, never in the URL. Without it, the caller is an anonymous reader.")


class RoleMark(HTTPBearer):
    """Marks an operation that needs `role` in the API definition; does nothing at run time (`require` checks)."""

    def __init__(self, role: Role) -> None:
        super().__init__(auto_error=False, scheme_name=f"{ROLE_MARK}{role.value}")
        self.role = role

    async def __call__(self, request: HTTPConnection) -> None:  # type: ignore[override]
        return None


ROLE_MARKS = {role: RoleMark(role) for role in USER_ROLES}
RESPONSES = {
    401: "Not signed in (this needs a token), or the token is not valid: unknown, expired, revoked or malformed "
         "(WWW-Authenticate: Bearer)",
    403: "Signed in, but the caller's role may not do this",
    429: "Too many failed sign-ins from this address: wait Retry-After seconds",
}
OPTIONAL_401 = "The token sent is not valid (unknown, expired, revoked or malformed); send none to read anonymously"


def describe_security(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with the bearer scheme and each operation's sign-in needs (changed in place and returned)."""
    ref = {"$ref": "#/components/schemas/Problem"}
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or not operation.get("security"):
                continue
            names = {name for requirement in operation["security"] for name in requirement}
            roles = [Role(name[len(ROLE_MARK):]) for name in names if name.startswith(ROLE_MARK)]
            responses = operation.setdefault("responses", {})
            if roles:
                role = max(roles, key=lambda r: r.rank)
                operation["security"] = [{SCHEME: []}]
                operation["x-lapis-role"] = role.value
                note = f"Needs a signed-in **{role.value}** (or a higher role)."
                operation["description"] = f"{operation.get('description', '').rstrip()}\n\n{note}".lstrip()
                statuses = {401: RESPONSES[401], 403: RESPONSES[403], 429: RESPONSES[429]}
            else:
                operation["security"] = [{}, {SCHEME: []}]
                statuses = {401: OPTIONAL_401, 429: RESPONSES[429]}
            for status, description in statuses.items():
                responses[str(status)] = {"description": description, "content": {PROBLEM_JSON: {"schema": ref}}}
    schemes = spec.setdefault("components", {}).setdefault("securitySchemes", {})
    for name in [name for name in schemes if name.startswith(ROLE_MARK)]:
        del schemes[name]
    schemes[SCHEME] = {"type": "http", "scheme": "bearer", "description": BEARER.model.description}
    return spec
