"""FastAPI dependencies: the one way a route gets a service or a parsed parameter.

Services (`SettingsDep`, `DatabaseDep`, `TilesDep`) come from the `Services` the app's lifespan built; the database
ones are pools of one kind of work each (`app.pools`), so a route names the pool its queries wait in. Each group
of request parameters is one dependency that parses it into a typed value — a registry `Layer`, a `Tile`, a
`CollectionSubset`, a `SupportedCrs`, an `ItemsRequest` (in `app.items_query`) — or raises the domain error that
`app.problems` turns into problem+json. A handler then only calls `spatial` and shapes the response.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from starlette.applications import Starlette

from app.pools import ReadPool
from app.services import Services
from spatial.crs import SupportedCrs, parse_crs
from spatial.errors import InvalidParameter
from spatial.history.asof import parse_asof
from spatial.layers import LAYERS, Layer
from spatial.pool import Database
from spatial.registry import Registry
from spatial.settings import Settings
from spatial.tiles.grid import MAX_ZOOM, Tile, TileOutOfRange, check_tile_matrix_set
from spatial.tiles.layers import TileLayer
from spatial.tiles.service import TileService, UnknownTileLayer, tile_layers

# --- services ---------------------------------------------------------------------------------------------------


def services_of(app: Starlette) -> Services:
    """The services `create_app`'s lifespan built (also what the tile fast path uses, outside FastAPI)."""
    services = getattr(app.state, "services", None)
    if services is None:
        raise RuntimeError("the app's services are built by its lifespan: serve it with the lifespan on "
                           "(uvicorn does by default; in tests, `with TestClient(app)`)")
    return services


def get_services(request: Request) -> Services:
    return services_of(request.app)


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


def get_database(services: ServicesDep) -> ReadPool:
    """Reads of the API routes (landing page, collections, items): a replica when configured, else the primary."""
    return services.pools.api


def get_planner_database(services: ServicesDep) -> ReadPool:
    """Reads of the planner queries (/locate, /check, /search), in a pool of their own."""
    return services.pools.planner


def get_upload_database(services: ServicesDep) -> ReadPool:
    """/classify's pool (temporary tables: always the primary)."""
    return services.pools.uploads


def get_write_database(services: ServicesDep) -> Database:
    """The primary (no HTTP route writes yet; a write route takes this, and `spatial.replicaset.write_lsn` gives
    its readers their own writes)."""
    return services.db


def get_tiles(services: ServicesDep) -> TileService:
    return services.tiles


def get_registry(services: ServicesDep) -> Registry:
    return services.registry


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
DatabaseDep = Annotated[ReadPool, Depends(get_database)]
PlannerDatabaseDep = Annotated[ReadPool, Depends(get_planner_database)]
UploadDatabaseDep = Annotated[ReadPool, Depends(get_upload_database)]
WriteDatabaseDep = Annotated[Database, Depends(get_write_database)]
TilesDep = Annotated[TileService, Depends(get_tiles)]

# --- collections ------------------------------------------------------------------------------------------------


def collection_layer(registry: RegistryDep, collectionId: Annotated[str, Path(  # noqa: N803 - OGC names
        description="Collection id (a layer: zones, admin_units, …)", examples=["zones"])]) -> Layer:
    return registry[collectionId]  # UnknownLayer: 404


def tile_collection(registry: RegistryDep, collectionId: str) -> TileLayer:  # noqa: N803
    return tile_layers([collectionId], registry)[0]  # UnknownTileLayer: 404


@dataclass(frozen=True)
class CollectionSubset:
    """The layers of a composite tileset request, in drawing order: every plan layer, or the `collections=` ones."""

    layers: tuple[TileLayer, ...]
    named: bool  # the request named a subset: links and TileJSON repeat it

    @property
    def param(self) -> str:
        """`collections=…` for links to the same subset ('' for the whole plan)."""
        return f"collections={','.join(layer.id for layer in self.layers)}" if self.named else ""


def parse_collection_subset(text: str | None, registry: Registry = LAYERS) -> CollectionSubset:
    """`collections=a,b` → its tile layers; the one parser of this parameter (the route's and the fast path's)."""
    ids = [c.strip() for c in text.split(",") if c.strip()] if text else []
    try:
        return CollectionSubset(tile_layers(ids, registry), named=bool(text))
    except UnknownTileLayer as exc:  # a bad value of this parameter, not a missing resource
        raise InvalidParameter(exc.detail, parameter="collections") from None


def collection_subset(registry: RegistryDep,
                      collections: Annotated[str | None, Query(description="Subset: a,b,c")] = None
                      ) -> CollectionSubset:
    return parse_collection_subset(collections, registry)


LayerDep = Annotated[Layer, Depends(collection_layer)]
TileLayerDep = Annotated[TileLayer, Depends(tile_collection)]
SubsetDep = Annotated[CollectionSubset, Depends(collection_subset)]

# --- tile address -----------------------------------------------------------------------------------------------


def tile_matrix_set(tileMatrixSetId: str) -> str:  # noqa: N803
    check_tile_matrix_set(tileMatrixSetId)  # UnknownTileMatrixSet: 404
    return tileMatrixSetId


TileMatrixSetDep = Annotated[str, Depends(tile_matrix_set)]


def tile_address(tileMatrixSetId: str,  # noqa: N803 - OGC API – Tiles names
                 tileMatrix: Annotated[str, Path(description="Tile matrix (zoom level) of the tile matrix set",  # noqa: N803
                                                 examples=["12"])],
                 tileRow: Annotated[int, Path(description="Row of the tile in its tile matrix")],  # noqa: N803
                 tileCol: Annotated[int, Path(description="Column of the tile in its tile matrix")],  # noqa: N803
                 ) -> Tile:
    """The tile a request addresses: its tile matrix set (UnknownTileMatrixSet: 404), tile matrix, row and column
    (TileOutOfRange: 404). A tile matrix is named by a string (OGC API – Tiles); WebMercatorQuad's are its zoom
    levels, so anything but a number is a bad value."""
    check_tile_matrix_set(tileMatrixSetId)
    if not (tileMatrix.isascii() and tileMatrix.isdecimal()):
        raise InvalidParameter(f"tileMatrix: {tileMatrix!r} is not a tile matrix of {tileMatrixSetId} "
                               f"(0–{MAX_ZOOM})", parameter="tileMatrix")
    if len(tileMatrix) > 2 or tileMatrix != str(int(tileMatrix)):  # "07", "123…": a number, but no matrix's id
        raise TileOutOfRange(f"tileMatrix {tileMatrix!r} is not a tile matrix of {tileMatrixSetId} (0–{MAX_ZOOM})",
                             parameter="tileMatrix")
    return Tile(int(tileMatrix), tileCol, tileRow)


TileDep = Annotated[Tile, Depends(tile_address)]

# --- coordinate reference systems -------------------------------------------------------------------------------


def crs_parameter(description: str, *, name: str = "crs") -> Callable[[str | None], SupportedCrs]:
    """A dependency for one CRS query parameter: its OGC URI (or CURIE, EPSG:nnnn) → SupportedCrs; CRS84 when
    absent. (Query as a default, not in Annotated: a function made here must not annotate with its locals.)"""

    def crs(value: str | None = Query(None, alias=name, description=description)) -> SupportedCrs:
        return parse_crs(value, name)

    return crs


def optional_crs_parameter(description: str) -> Callable[[str | None], SupportedCrs | None]:
    """As `crs_parameter`, but None when absent (the input may declare its own CRS)."""

    def crs(value: str | None = Query(None, alias="crs", description=description)) -> SupportedCrs | None:
        return parse_crs(value, "crs") if value else None

    return crs


# --- the past ---------------------------------------------------------------------------------------------------

ASOF_HELP = ("The plan as it stood at this instant (RFC 3339 date-time with its offset, not in the future), from "
             "the features' recorded history; every other parameter applies as it does to the present")


def asof_parameter(asof: Annotated[str | None, Query(description=ASOF_HELP)] = None) -> datetime | None:
    """`asof=`: the instant to read the plan at (InvalidParameter naming it: 400), or None for the present."""
    return parse_asof(asof)


AsOfDep = Annotated[datetime | None, Depends(asof_parameter)]
