"""Every resource refuses query parameters its API definition does not declare (OGC API – Features Part 1,
/req/core/query-param-unknown: 400), not only the items resource.

What a route declares is read off the route itself — the query parameters of its dependencies, the same ones
FastAPI lists in `/api` — so the check and the API definition cannot drift apart. The items route also takes a
parameter per queryable (`kind=region`, Part 3 queryables-query-parameters); it checks those names itself against
the collection's queryables (`app.items_query`) and is marked with `accepts_property_filters`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.auth import refuse_tokens_in_url
from spatial.errors import InvalidParameter

F = TypeVar("F", bound=Callable[..., Any])
_PROPERTY_FILTERS = "__lapis_property_filters__"
_DECLARED = "_lapis_query_names"  # each route's names, worked out on its first request


def accepts_property_filters(endpoint: F) -> F:
    """Mark a route whose handler checks the names it does not declare itself (the items route)."""
    setattr(endpoint, _PROPERTY_FILTERS, True)
    return endpoint


def query_names(dependant: Dependant) -> frozenset[str]:
    """The query parameter names a dependant and its sub-dependencies declare."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= query_names(sub)
    return frozenset(names)


def declared_query_names(route: APIRoute) -> frozenset[str]:
    names: frozenset[str] | None = getattr(route, _DECLARED, None)
    if names is None:
        names = query_names(route.dependant)
        setattr(route, _DECLARED, names)
    return names


async def reject_unknown_query_parameters(request: Request) -> None:
    """An app-wide dependency: InvalidParameter (400) naming the first query parameter the route does not take —
    a token sent in the URL before anything else, with `app.auth`'s reason (this runs before any route's own
    dependencies)."""
    refuse_tokens_in_url(request)
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or getattr(route.endpoint, _PROPERTY_FILTERS, False):
        return
    names = declared_query_names(route)
    for key in request.query_params:
        if key not in names:
            takes = ", ".join(sorted(names)) or "no query parameters"
            raise InvalidParameter(f"{key}: unknown parameter; this resource takes {takes}", parameter=key)
