"""The declarative base and the pieces every plan table shares, written once as migrations 0001/0003 write them.

Each piece carries the name PostgreSQL gave it in the migrated database (`{table}_code_key`, `{table}_name_vi_check`,
`{table}_geom_idx` …), so that the models create the very schema the migrations create and Alembic's comparison
(`spatial.models.drift`) finds nothing to change. The triggers (updated_at, `layer_versions`) are attached as DDL
run after `CREATE TABLE`: autogenerate does not compare triggers, but `metadata.create_all()` then builds a table
that behaves as the migrated one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    DDL,
    BigInteger,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    event,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedColumn, declared_attr, mapped_column

STORAGE_SRID = 4326
MERCATOR_SRID = 3857


class Base(DeclarativeBase):
    """Every LAPIS table's model; `Base.metadata` is the schema as the models see it."""

    metadata = MetaData()


def sql_list(values: tuple[str, ...]) -> str:
    """`'a', 'b'` for a CHECK (x IN (…)): the values are the registry's constants, never user text."""
    return ", ".join(f"'{v}'" for v in values)


class Record:
    """The columns every layer's table starts with (migration 0001's COMMON, 0008's use_rules)."""

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True, sort_order=-100)
    code: Mapped[str] = mapped_column(Text, sort_order=-99)
    name_vi: Mapped[str] = mapped_column(Text, sort_order=-98)
    name_en: Mapped[str | None] = mapped_column(Text, sort_order=-97)
    source: Mapped[str | None] = mapped_column(Text, sort_order=-96)
    accuracy: Mapped[str] = mapped_column(Text, server_default=text("'unknown'::text"), sort_order=-95)
    props: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"), sort_order=-94)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), sort_order=-93)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), sort_order=-92)


class PlanLinked:
    """`plan_id`: the plan a feature belongs to (NULL when the plan is deleted)."""

    @declared_attr
    def plan_id(cls) -> Mapped[int | None]:  # noqa: N805 - declared_attr receives the class
        return mapped_column(BigInteger, ForeignKey("plans.id", ondelete="SET NULL"), sort_order=-60)


def geometry_columns(geometry_type: str) -> tuple[MappedColumn[Any], MappedColumn[Any]]:
    """`geom` (EPSG:4326, NOT NULL) and its generated Web-Mercator copy `geom_3857` (tiles never reproject).
    GeoAlchemy2's own index is off: the GiST indexes are named as the migration names them (`record_args`)."""
    geom = mapped_column(Geometry(geometry_type.upper(), STORAGE_SRID, spatial_index=False), nullable=False,
                         sort_order=-59)
    geom_3857 = mapped_column(Geometry(geometry_type.upper(), MERCATOR_SRID, spatial_index=False),
                              Computed(f"ST_Transform(geom, {MERCATOR_SRID})", persisted=True), sort_order=-58)
    return geom, geom_3857


def record_args(table: str, *, spatial: bool) -> tuple[Any, ...]:
    """Constraints and indexes of the common columns (and, for a spatial table, of `geom`)."""
    args: list[Any] = [
        UniqueConstraint("code", name=f"{table}_code_key"),
        CheckConstraint("code <> ''", name=f"{table}_code_check"),
        CheckConstraint("name_vi IS NFC NORMALIZED", name=f"{table}_name_vi_check"),
        CheckConstraint("name_en IS NFC NORMALIZED", name=f"{table}_name_en_check"),
        CheckConstraint("jsonb_typeof(props) = 'object'", name=f"{table}_props_check"),
        Index(f"{table}_search_idx", func.lapis_search_text(text("code"), text("name_vi"), text("name_en"))
              .label("search_text"), postgresql_using="gin", postgresql_ops={"search_text": "gin_trgm_ops"}),
    ]
    if spatial:
        args += [
            CheckConstraint(f"ST_SRID(geom) = {STORAGE_SRID}", name=f"{table}_geom_srid"),
            CheckConstraint("ST_IsValid(geom)", name=f"{table}_geom_valid"),
            CheckConstraint("NOT ST_IsEmpty(geom)", name=f"{table}_geom_not_empty"),
            Index(f"{table}_geom_idx", "geom", postgresql_using="gist"),
            Index(f"{table}_geom_3857_idx", "geom_3857", postgresql_using="gist"),
            Index(f"{table}_plan_id_idx", "plan_id"),
            # migration 0003: the tiles' size filter
            Index(f"{table}_feature_size_idx", func.lapis_feature_size(text("geom_3857"))),
        ]
    return tuple(args)


# migration 0014: each writing statement records its rows' new versions in `history.<table>`
HISTORY_TRIGGERS = (
    ("insert", "AFTER INSERT", "REFERENCING NEW TABLE AS new_rows"),
    ("update", "AFTER UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("delete", "AFTER DELETE", "REFERENCING OLD TABLE AS old_rows"),
    ("truncate", "BEFORE TRUNCATE", ""),
)

# migration 0016: each writing statement of a tiled layer records where it wrote, in `tile_changes`
TILE_CHANGE_TRIGGERS = (*HISTORY_TRIGGERS[:3], ("truncate", "AFTER TRUNCATE", ""))


def versioned(table: Table) -> Table:
    """The triggers of every layer table: `updated_at` follows each real change, each writing statement stamps
    `layer_versions` (migration 0001), records the versions it wrote (migration 0014) and, on a tiled layer, where
    it wrote (`tile_changes`: tile caches key on it; migration 0016)."""
    name = table.name
    event.listen(table, "after_create", DDL(
        f"CREATE TRIGGER {name}_touch BEFORE UPDATE ON {name} FOR EACH ROW EXECUTE FUNCTION lapis_touch_updated_at()"))
    event.listen(table, "after_create", DDL(
        f"CREATE TRIGGER {name}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {name} "
        "FOR EACH STATEMENT EXECUTE FUNCTION lapis_bump_layer_version()"))
    for event_name, timing, transitions in HISTORY_TRIGGERS:
        event.listen(table, "after_create", DDL(
            f"CREATE TRIGGER {name}_history_{event_name} {timing} ON {name} {transitions} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION history.capture_{name}()"))
    if "geom_3857" in table.columns:
        for event_name, timing, transitions in TILE_CHANGE_TRIGGERS:
            event.listen(table, "after_create", DDL(
                f"CREATE TRIGGER {name}_version_tiles_{event_name} {timing} ON {name} {transitions} "
                "FOR EACH STATEMENT EXECUTE FUNCTION lapis_record_tile_changes()"))
    return table
