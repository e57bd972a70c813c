"""The plan join outside the database: the engine that `local` and `dask` classification run on each partition.

It answers what `/classify` answers (`spatial.queries.classify`, the reference): for each parcel the plan layers it
overlaps — districts, zones, corridors (`PLAN_LAYERS_SQL`, fetched once) — with the share of the parcel's area in
each; a layer covering the parcel is a share of exactly 1 (ST_Covers), otherwise the intersection's area over the
parcel's, both measured in VN-2000 metres. From the hits, sorted by (parcel, share desc, code): the district and the
region of largest share, the centre(s) and corridors touched, and every share in %, rounded to 2 decimals.

Shares agree with PostGIS's to about 1e-7 of the parcel (GEOS computes the same intersection; the areas differ only
by the projection's scale across a parcel). So a parcel cut into two halves equal to that precision — a tie — may
get its district or region from the other half than `/classify` gives it; any real difference decides the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from spatial.analysis.crs import metric_area

COLUMNS = ["lapis_admin_code", "lapis_admin_name", "lapis_region_code", "lapis_region_name", "lapis_region_share_pct",
           "lapis_centre", "lapis_corridors", "lapis_shares"]


@dataclass
class PlanLayers:
    """The plan layers a parcel is classified against (small: a few dozen polygons), in EPSG:4326."""

    layer: np.ndarray  # 'admin_units' | 'zones' | 'corridors'
    code: np.ndarray
    name: np.ndarray
    kind: np.ndarray  # district | region, centre, … | corridor
    geoms: np.ndarray
    _prepared: bool = field(default=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.geoms)

    def prepared(self) -> np.ndarray:
        """The geometries, GEOS-prepared (once per process: preparation does not survive pickling to a worker)."""
        if not self._prepared:
            shapely.prepare(self.geoms)
            self._prepared = True
        return self.geoms

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "_prepared": False}


def fetch_plan_layers(url: str) -> PlanLayers:
    """The plan layers from PostGIS, through the very query `/classify` joins against."""
    from spatial.db import connect
    from spatial.queries.classify import PLAN_LAYERS_SQL

    with connect(url) as conn:
        rows = conn.execute(f"SELECT layer, code, name_vi, kind, ST_AsBinary(geom) FROM ({PLAN_LAYERS_SQL}) zl "
                            "ORDER BY layer, code").fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), (), ()]
    layer, code, name, kind = (np.array(c, dtype=object) for c in columns[:4])
    return PlanLayers(layer, code, name, kind, shapely.from_wkb(np.array([bytes(g) for g in columns[4]], dtype=object)))


def shares(parcels: np.ndarray, plan: PlanLayers) -> pd.DataFrame:
    """Every (parcel, plan layer) pair with a positive share of the parcel's area: columns p, z, share."""
    zones = plan.prepared()
    tree = shapely.STRtree(parcels)
    zi, pi = tree.query(zones, predicate="intersects")  # the zone is the prepared side, as in PostGIS's loop
    share = np.ones(len(zi))
    partial = np.flatnonzero(~shapely.covers(zones[zi], parcels[pi]))
    if partial.size:
        pieces = shapely.intersection(zones[zi[partial]], parcels[pi[partial]])
        owners, where = np.unique(pi[partial], return_inverse=True)
        parcel_area = metric_area(parcels[owners])[where]
        with np.errstate(divide="ignore", invalid="ignore"):
            share[partial] = metric_area(pieces) / parcel_area
    keep = share > 0  # NaN (a parcel of no area) and slivers of no area are no hits, as in SQL
    return pd.DataFrame({"p": pi[keep], "z": zi[keep], "share": share[keep]})


def classify_geometries(parcels: np.ndarray, plan: PlanLayers) -> pd.DataFrame:
    """`/classify`'s columns for parcels (shapely array, EPSG:4326), one row per parcel in input order."""
    hits = shares(parcels, plan)
    code = plan.code[hits.z.to_numpy()]
    order = np.lexsort((code, -hits.share.to_numpy(), hits.p.to_numpy()))  # parcel, share desc, code
    p, z, code = hits.p.to_numpy()[order], hits.z.to_numpy()[order], code[order]
    pct = np.round(100 * hits.share.to_numpy()[order], 2)
    layer, kind = plan.layer[z], plan.kind[z]
    n = len(parcels)
    out = pd.DataFrame(index=pd.RangeIndex(n))
    first = _first_of_groups(p, layer == "admin_units")
    out["lapis_admin_code"] = _spread(n, p[first], code[first])
    out["lapis_admin_name"] = _spread(n, p[first], plan.name[z[first]])
    first = _first_of_groups(p, kind == "region")
    out["lapis_region_code"] = _spread(n, p[first], code[first])
    out["lapis_region_name"] = _spread(n, p[first], plan.name[z[first]])
    out["lapis_region_share_pct"] = _spread(n, p[first], pct[first], float("nan")).astype("float64")
    out["lapis_centre"] = _joined(n, p, code, kind == "centre", ";")
    out["lapis_corridors"] = _joined(n, p, code, layer == "corridors", ";")
    quoted = {c: json.dumps(c, ensure_ascii=False) for c in plan.code}
    pairs = np.array([f"{quoted[c]}: {v:.2f}" for c, v in zip(code.tolist(), pct.tolist(), strict=True)], dtype=object)
    shares_json = _joined(n, p, pairs, np.ones(len(p), dtype=bool), ", ")
    out["lapis_shares"] = np.where(pd.isna(shares_json), "{}", "{" + shares_json.astype(str) + "}").astype(object)
    return out.astype({c: "string" for c in COLUMNS if c != "lapis_region_share_pct"})


def _first_of_groups(p: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Positions of the first row of each parcel among the rows where `mask` holds (rows are sorted by parcel)."""
    rows = np.flatnonzero(mask)
    keys = p[rows]
    return rows[np.r_[True, keys[1:] != keys[:-1]]] if rows.size else rows


def _spread(n: int, where: np.ndarray, values: np.ndarray, missing: object = None) -> np.ndarray:
    out = np.full(n, missing, dtype=object)
    out[where] = values
    return out


def _joined(n: int, p: np.ndarray, values: np.ndarray, mask: np.ndarray, sep: str) -> np.ndarray:
    """Per parcel, its masked values joined by `sep` in row order (None where it has none)."""
    rows = np.flatnonzero(mask)
    out = np.full(n, None, dtype=object)
    if not rows.size:
        return out
    keys, items = p[rows], values[rows].tolist()
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(rows)]
    out[keys[starts]] = [sep.join(items[s:e]) for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
    return out
