"""Parameters the change log and the revision diff share: which layers (`layer=a,b`), what a reader may see of who
made a change (the `Disclosure`: LAPIS_CHANGES_PUBLIC_WHO for readers who are not signed in, the names for signed-in
ones), and the shape of a point in the plan's history (a revision number or an RFC 3339 instant)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query

from app.auth import CallerDep
from app.dependencies import RegistryDep, SettingsDep
from app.problems import PROBLEM_JSON
from spatial.errors import InvalidParameter
from spatial.history.asof import RFC3339
from spatial.history.changes import Disclosure
from spatial.identity.model import Role
from spatial.registry import Layer

# a revision number or an RFC 3339 date-time with its offset
POINT_PATTERN = "^(?:[0-9]{1,18}|" + RFC3339.pattern.strip("^$") + ")$"
VERSION_PATTERN = "^[0-9]{1,18}$"
POINT_HELP = "A revision number (e.g. 1) or an RFC 3339 date-time with its offset (e.g. 2026-11-27T10:00:00+07:00)"


def problem(description: str) -> dict[str, Any]:
    """An answer of the API definition that is a problem document."""
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def select_layers(
    registry: RegistryDep,
    layer: Annotated[str | None, Query(description="Only these collections (layers), comma-separated, e.g. "
                                       "zones,parcels; default every one")] = None,
) -> tuple[Layer, ...]:
    """The layers asked for, in registry order (InvalidParameter naming `layer` for an unknown one)."""
    if layer is None:
        return tuple(registry.values())
    names = [name.strip() for name in layer.split(",") if name.strip()]
    unknown = [name for name in names if name not in registry]
    if unknown or not names:
        raise InvalidParameter(f"layer: {unknown[0] if unknown else layer!r} is not a collection; known: "
                               f"{', '.join(registry)}", parameter="layer")
    return tuple(registry[name] for name in registry if name in names)


def disclosure(caller: CallerDep, settings: SettingsDep) -> Disclosure:
    """Readers who are not signed in see what LAPIS_CHANGES_PUBLIC_WHO allows; signed-in ones see the names."""
    shown = "name" if caller.role is not Role.anonymous else settings.changes_public_who
    return Disclosure(shown, settings.changes_office)


LayersDep = Annotated[tuple[Layer, ...], Depends(select_layers)]
DisclosureDep = Annotated[Disclosure, Depends(disclosure)]
