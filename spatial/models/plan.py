"""The plan's tables as SQLAlchemy 2 / GeoAlchemy2 models, column for column as migrations 0001–0008 make them.

Query them with the ORM and PostGIS functions, e.g. the districts a project crosses:

    select(AdminUnit.code, func.ST_Area(func.ST_Intersection(AdminUnit.geom, Project.geom).cast(Geography)))
        .join(Project, func.ST_Intersects(AdminUnit.geom, Project.geom))

and turn a `Select` into a GeoDataFrame with `spatial.analysis.read_select` (or `geopandas.read_postgis`).
`tests/spatial/test_models.py` holds them to the migrated database (Alembic's autogenerate comparison, and the
catalog of a schema built from them against the migrated one), so models and migrations cannot drift apart.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Double,
    Identity,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from spatial.layers import PROJECT_CATEGORIES, PROJECT_STATUSES, USE_CATEGORIES, VERDICTS, ZONE_KINDS
from spatial.models.base import Base, PlanLinked, Record, geometry_columns, record_args, sql_list, versioned

# migration 0007: parcels keep their geometry rendered on the z10–z13 tile grids (world pixels, SRID 0)
TILE_GRID_ZOOMS = (10, 11, 12, 13)
_ORIGIN = 20037508.342789244
_EXTENT = 4096


def _tile_grid(z: int) -> Any:
    tolerance = 2 * _ORIGIN / 2**z / _EXTENT
    return mapped_column(Geometry(geometry_type=None, srid=-1, spatial_index=False), Computed(
        f"ST_AsMVTGeom(ST_Simplify(ST_Transform(geom, 3857), {tolerance!r}, true), "
        f"'BOX({-_ORIGIN!r} {-_ORIGIN!r},{_ORIGIN!r} {_ORIGIN!r})'::box2d, {_EXTENT << z}, 0, false)",
        persisted=True))


class Plan(Record, Base):
    """The master plan decisions (Decision 686/QĐ-TTg)."""

    __tablename__ = "plans"
    __table_args__ = record_args("plans", spatial=False)

    decision_no: Mapped[str | None] = mapped_column(Text)
    decision_date: Mapped[date | None] = mapped_column(Date)
    period_start: Mapped[int | None] = mapped_column(Integer)
    period_end: Mapped[int | None] = mapped_column(Integer)
    vision_year: Mapped[int | None] = mapped_column(Integer)
    signer: Mapped[str | None] = mapped_column(Text)


class AdminUnit(PlanLinked, Record, Base):
    """The province and its district-level units."""

    __tablename__ = "admin_units"
    __table_args__ = (
        *record_args("admin_units", spatial=True),
        CheckConstraint("level IN ('province', 'district')", name="admin_units_level_check"),
        Index("admin_units_level_idx", "level"),
    )

    geom, geom_3857 = geometry_columns("MultiPolygon")
    level: Mapped[str] = mapped_column(Text)
    gso_code: Mapped[str | None] = mapped_column(Text)
    unit_type: Mapped[str | None] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(Text)


class Zone(PlanLinked, Record, Base):
    """Regions, the centre, economic zones and other planning zones (`kind`)."""

    __tablename__ = "zones"
    __table_args__ = (
        *record_args("zones", spatial=True),
        CheckConstraint(f"kind IN ({sql_list(ZONE_KINDS)})", name="zones_kind_check"),
        Index("zones_kind_idx", "kind"),
    )

    geom, geom_3857 = geometry_columns("MultiPolygon")
    kind: Mapped[str] = mapped_column(Text)


class Corridor(PlanLinked, Record, Base):
    """The two development corridors (bands along their routes)."""

    __tablename__ = "corridors"
    __table_args__ = record_args("corridors", spatial=True)

    geom, geom_3857 = geometry_columns("MultiPolygon")
    route: Mapped[str | None] = mapped_column(Text)


class Axis(PlanLinked, Record, Base):
    """The six dynamic axes (lines)."""

    __tablename__ = "axes"
    __table_args__ = record_args("axes", spatial=True)

    geom, geom_3857 = geometry_columns("MultiLineString")
    rank: Mapped[int | None] = mapped_column(Integer)
    roads: Mapped[str | None] = mapped_column(Text)


class Project(PlanLinked, Record, Base):
    """Projects carrying out the plan: roads (lines), ports and parks (polygons)."""

    __tablename__ = "projects"
    __table_args__ = (
        *record_args("projects", spatial=True),
        CheckConstraint(f"category IN ({sql_list(PROJECT_CATEGORIES)})", name="projects_category_check"),
        CheckConstraint(f"status IN ({sql_list(PROJECT_STATUSES)})", name="projects_status_check"),
        CheckConstraint("start_year BETWEEN 1900 AND 2100", name="projects_start_year_check"),
        CheckConstraint("end_year BETWEEN 1900 AND 2100", name="projects_end_year_check"),
        CheckConstraint("investment_vnd_bn >= 0", name="projects_investment_vnd_bn_check"),
        CheckConstraint("length_km >= 0", name="projects_length_km_check"),
        CheckConstraint("area_ha >= 0", name="projects_area_ha_check"),
        Index("projects_category_idx", "category"),
    )

    geom, geom_3857 = geometry_columns("Geometry")
    category: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text)
    start_year: Mapped[int | None] = mapped_column(Integer)
    end_year: Mapped[int | None] = mapped_column(Integer)
    investment_vnd_bn: Mapped[Decimal | None] = mapped_column(Numeric)
    length_km: Mapped[Decimal | None] = mapped_column(Numeric)
    area_ha: Mapped[Decimal | None] = mapped_column(Numeric)


class Parcel(PlanLinked, Record, Base):
    """Cadastral land parcels, with their tile-grid copies (read `geom`: `tile_z*` are tile pixels, no CRS)."""

    __tablename__ = "parcels"
    __table_args__ = record_args("parcels", spatial=True)

    geom, geom_3857 = geometry_columns("MultiPolygon")
    land_use: Mapped[str | None] = mapped_column(Text)
    area_m2: Mapped[Decimal | None] = mapped_column(Numeric)
    tile_z10 = _tile_grid(10)
    tile_z11 = _tile_grid(11)
    tile_z12 = _tile_grid(12)
    tile_z13 = _tile_grid(13)


class UseRule(PlanLinked, Record, Base):
    """What may be built where: zone or region code × use category → verdict (migration 0008)."""

    __tablename__ = "use_rules"
    __table_args__ = (
        *record_args("use_rules", spatial=False),
        CheckConstraint("zone_code <> ''", name="use_rules_zone_code_check"),
        CheckConstraint(f"use_category IN ({sql_list(USE_CATEGORIES)})", name="use_rules_use_category_check"),
        CheckConstraint(f"verdict IN ({sql_list(VERDICTS)})", name="use_rules_verdict_check"),
        CheckConstraint("note_vi IS NFC NORMALIZED", name="use_rules_note_vi_check"),
        CheckConstraint("note_en IS NFC NORMALIZED", name="use_rules_note_en_check"),
        UniqueConstraint("zone_code", "use_category", name="use_rules_zone_use_key"),
        Index("use_rules_plan_id_idx", "plan_id"),
    )

    zone_code: Mapped[str] = mapped_column(Text)
    use_category: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(Text)
    note_vi: Mapped[str | None] = mapped_column(Text)
    note_en: Mapped[str | None] = mapped_column(Text)
    inferred: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class LayerVersion(Base):
    """Each layer's data version: the id of the last transaction that wrote it (tile caches key on it)."""

    __tablename__ = "layer_versions"

    layer: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TileChange(Base):
    """Where a statement wrote a tiled layer (EPSG:3857 box; no box: the whole layer), for the tile caches."""

    __tablename__ = "tile_changes"
    __table_args__ = (
        CheckConstraint("(west IS NULL AND south IS NULL AND east IS NULL AND north IS NULL) "
                        "OR (west <= east AND south <= north)", name="tile_changes_box_check"),
        Index("tile_changes_layer_id_idx", "layer", "id"),
        {"comment": "Where each write to a tiled layer happened (EPSG:3857 boxes; no box: the whole layer): "
                    "tile caches key on it"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    layer: Mapped[str] = mapped_column(Text)
    txid: Mapped[int] = mapped_column(BigInteger, server_default=text("(pg_current_xact_id())::text::bigint"))
    west: Mapped[float | None] = mapped_column(Double)
    south: Mapped[float | None] = mapped_column(Double)
    east: Mapped[float | None] = mapped_column(Double)
    north: Mapped[float | None] = mapped_column(Double)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


LAYER_MODELS: dict[str, type[Base]] = {m.__tablename__: m for m in (Plan, AdminUnit, Zone, Corridor, Axis, Project,
                                                                     Parcel, UseRule)}
for _model in LAYER_MODELS.values():
    versioned(_model.__table__)  # type: ignore[arg-type]
