"""The API definition of editing: the bearer-token security scheme, which operations need a token, what they answer.

- `bearerAuth` (HTTP bearer: a LAPIS API token) is required by the Part 4 writes and the proposal routes, and
  optional (`{}` or a token) where a token changes the answer: a read with `proposal=` (a preview), `/me`.
- The writes list what they answer besides 2xx: 401/403 (token, role), 404, 409 (a pending change elsewhere, a
  taken code, a decided proposal), and for replace, update and delete 412 and 428 (`If-Match`, marked required:
  without it the answer is 428); a collection that is not editable answers them 403.
- Each collection's own items path (listed for GDAL, `app.openapi_items`) offers its POST too.
"""

from __future__ import annotations

import copy
from typing import Any

from app.problems import PROBLEM_JSON

EDITING_TAG = "OGC API – Features: editing"
PROPOSALS_TAG = "proposals"
BEARER = {"bearerAuth": []}
SCHEME = {"type": "http", "scheme": "bearer",
          "description": "A personal LAPIS API token (`lapis tokens create --user U`): `Authorization: Bearer <token>`"}
DESCRIPTIONS = {
    401: "No valid bearer token (problem+json, `WWW-Authenticate: Bearer`)",
    403: "The token's user lacks the role this needs (or the collection is not edited over the API)",
    404: "Not found: the collection, feature or proposal (or not one you may see)",
    409: "Conflict: the feature has a pending change in another proposal, a unique code is taken, the proposal is "
         "decided, or (publishing) a feature changed since it was proposed — nothing was written",
    412: "If-Match names a version the feature no longer has: read it again",
    428: "If-Match is missing: send the ETag of the version read",
}
OPTIONAL_TOKEN_PATHS = {"/me"}
PROPOSAL_ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


def _answers(operation: dict[str, Any], statuses: list[int]) -> None:
    ref = {"$ref": "#/components/schemas/Problem"}
    for status in statuses:
        operation["responses"].setdefault(str(status), {"description": DESCRIPTIONS[status],
                                                        "content": {PROBLEM_JSON: {"schema": ref}}})


def _write_operation(method: str, operation: dict[str, Any], editable: list[str]) -> None:
    operation["description"] = f"Editable collections: {', '.join(editable)} (any other answers 403)."
    operation["security"] = [BEARER]
    statuses = [401, 403, 404, 409]
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "header" and parameter.get("name") == "If-Match":
            parameter["required"] = True
    if method != "post":
        statuses += [412, 428]
    _answers(operation, statuses)


def _proposal_operation(path: str, operation: dict[str, Any]) -> None:
    operation["security"] = [BEARER]
    _answers(operation, [401, 403, *([409] if path.endswith(("/publish", "/reject")) else [])])


def _describe(path: str, method: str, operation: dict[str, Any], editable: list[str]) -> None:
    tags = set(operation.get("tags", []))
    names = {p.get("name") for p in operation.get("parameters", [])}
    for parameter in operation.get("parameters", []):
        if parameter.get("name") == "proposal" and parameter.get("in") == "query":
            parameter["schema"] = dict(PROPOSAL_ID)  # absent or an id: never null
    if EDITING_TAG in tags:
        _write_operation(method, operation, editable)
    elif PROPOSALS_TAG in tags:
        _proposal_operation(path, operation)
    elif "proposal" in names or path in OPTIONAL_TOKEN_PATHS:
        operation["security"] = [{}, BEARER]
        _answers(operation, [401, 403] if "proposal" in names else [401])


def describe_editing(spec: dict[str, Any], editable: list[str]) -> dict[str, Any]:
    """`spec` (changed in place and returned) with the security and answers above; `editable`: the collection ids
    that take writes (named in the writes' descriptions)."""
    spec.setdefault("components", {}).setdefault("securitySchemes", {})["bearerAuth"] = SCHEME
    paths = spec.get("paths", {})
    for path, item in paths.items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                _describe(path, method, operation, editable)
    template = paths.get("/collections/{collectionId}/items", {}).get("post")
    for own_path, own in list(paths.items()) if template is not None else ():
        layer_id = own_path.removeprefix("/collections/").removesuffix("/items")
        if own_path.startswith("/collections/") and own_path.endswith("/items") and "/" not in layer_id \
                and "{" not in layer_id:
            post = copy.deepcopy(template)
            post["parameters"] = [p for p in post.get("parameters", []) if p.get("name") != "collectionId"]
            post["operationId"] = f"{template.get('operationId', 'create_item')}_{layer_id}"
            own["post"] = post
    return spec
