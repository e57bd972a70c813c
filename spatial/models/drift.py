"""Do the models match the database? Alembic's autogenerate comparison of `Base.metadata` with a live schema.

Left out of the comparison, and only these: PostGIS's own table (`spatial_ref_sys`, made by the extension) and
Alembic's version table. Types, nullability, server defaults, identity, generated columns, indexes (expression
ones included), unique constraints and foreign keys are all compared; an empty list means no difference.
A generated column whose expression differs, which Alembic only warns about, is a difference here too.
Autogenerate does not look at CHECK constraints, triggers, index methods or operator classes: the test suite
compares those through the catalog (`tests/spatial/test_models.py`).
"""

from __future__ import annotations

import warnings
from typing import Any

from spatial.db import make_engine

EXTENSION_TABLES = frozenset({"spatial_ref_sys"})  # PostGIS's; `alembic_version` is skipped by Alembic itself


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Compare everything except tables an extension owns (and their indexes and constraints)."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return not (table is not None and table.name in EXTENSION_TABLES)


def schema_diff(url: str) -> list[Any]:
    """Alembic's differences between the models and the database at `url` (empty: they match)."""
    import geoalchemy2  # noqa: F401 - registers the geometry type for reflection
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from spatial.models import metadata

    engine = make_engine(url)
    try:
        with engine.connect() as conn, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            context = MigrationContext.configure(conn, opts={
                "compare_type": True, "compare_server_default": True, "include_object": include_object})
            diff: list[Any] = list(compare_metadata(context, metadata))
    finally:
        engine.dispose()
    # a generated column whose expression differs is only a warning to Alembic (it cannot alter one): a difference here
    return diff + [("computed_differs", str(w.message)) for w in caught if "Computed default" in str(w.message)]
