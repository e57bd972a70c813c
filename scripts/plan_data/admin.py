"""The real administrative units: the 15 pre-2025 districts of Long An from the bundled OCHA COD-AB 2020
file (CC BY 3.0 IGO, via geoBoundaries), the province as their dissolve, and the Cambodian border arc.

The bundled file is checked byte for byte (SHA-256) so the build cannot silently run on other geometry.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import shapely
from shapely.geometry import LineString, MultiPolygon, shape

from plan_data.geo import GRID, LonLat, as_multipolygon, ring_arc

OCHA_FILE = Path(__file__).resolve().parents[2] / "data" / "opendata" / "longan_districts_ochacod2020.geojson"
OCHA_SHA256 = "a62c5f2300ff931e989b434cf579cf155ac5da610b85f06472c613685926f91f"

# The attribution the licence asks for (data/opendata/README.md), shown in NOTICE, README, every feature's
# `source` and the web map.
ATTRIBUTION = (
    "District boundaries of Long An province (2020): © Government of Viet Nam / OCHA ROAP, "
    "\"Viet Nam – Subnational Administrative Boundaries\" (COD-AB, vnm_adm_gov_20201027), via the "
    "Humanitarian Data Exchange, licensed CC BY 3.0 IGO; distributed and simplified by geoBoundaries "
    "(www.geoboundaries.org; Runfola et al. 2020, PLoS ONE 15(4): e0231866). Extracted and modified. "
    "Attribution does not imply endorsement by the data providers."
)
LICENSE = "CC BY 3.0 IGO"
LICENSE_URL = "https://creativecommons.org/licenses/by/3.0/igo/"
SOURCE_URL = "https://data.humdata.org/dataset/cod-ab-vnm"
BOUNDARY_SOURCE = f"OCHA COD-AB Viet Nam 2020 (vnm_admbnda_adm2_gov_20201027) via geoBoundaries. {ATTRIBUTION}"

_PREFIXES = {"TP. ": ("Thành phố", "City"), "Thị xã ": ("Thị xã", "Town"), "Huyện ": ("Huyện", "District")}

# The Cambodian border (brief §3.1: Cambodia N/NW, Đồng Tháp W, Tây Ninh NE) runs along the province
# outline from the Đồng Tháp tripoint to the Tây Ninh tripoint. Neither tripoint is in the brief [I]:
# west = the province's westernmost point (Tân Hưng's western tip, where Cambodia meets Đồng Tháp);
# east = the outline point nearest the brief's "Đức Huệ/Tây Ninh boundary" point of QL N1 (§6, 10.98 N 106.20 E).
BORDER_EAST_HINT: LonLat = (106.20, 10.98)
BORDER_LENGTH_PUBLISHED_KM = (132.0, 137.7)  # brief §2.4 (ever.vn 132 km; tapchikientruc 137.7 km)


@dataclass(frozen=True)
class District:
    code: str  # GSO code 794–808
    name_vi: str  # without the type prefix, e.g. "Tân An"
    name_vi_official: str  # OCHA ADM2_VI, e.g. "TP. Tân An"
    name_en: str  # OCHA ADM2_EN
    unit_type: str  # Thành phố | Thị xã | Huyện
    unit_type_en: str
    pcode: str  # OCHA ADM2_PCODE
    geom: MultiPolygon


def _split_type(adm2_vi: str) -> tuple[str, str, str]:
    for prefix, (vi, en) in _PREFIXES.items():
        if adm2_vi.startswith(prefix):
            return adm2_vi[len(prefix):], vi, en
    raise ValueError(f"unknown unit type in {adm2_vi!r}")


def load_districts(path: Path = OCHA_FILE) -> dict[str, District]:
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != OCHA_SHA256:
        raise ValueError(f"{path}: SHA-256 {digest} is not the bundled OCHA file's {OCHA_SHA256}")
    districts: dict[str, District] = {}
    for f in json.loads(raw)["features"]:
        p = {k: unicodedata.normalize("NFC", v) if isinstance(v, str) else v for k, v in f["properties"].items()}
        short, unit_type, unit_type_en = _split_type(p["ADM2_VI"])
        geom = shapely.set_precision(shape(f["geometry"]), GRID)
        if not geom.is_valid:
            raise ValueError(f"district {p['gso_code']} is not valid: {shapely.is_valid_reason(geom)}")
        districts[p["gso_code"]] = District(p["gso_code"], short, p["ADM2_VI"], p["ADM2_EN"], unit_type,
                                            unit_type_en, p["ADM2_PCODE"], as_multipolygon(geom))
    if sorted(districts) != [str(c) for c in range(794, 809)]:
        raise ValueError(f"expected GSO codes 794–808, got {sorted(districts)}")
    return districts


def dissolve(districts: dict[str, District]) -> MultiPolygon:
    return as_multipolygon(shapely.union_all([d.geom for d in districts.values()], grid_size=GRID))


def cambodian_border(province: MultiPolygon) -> LineString:
    """The arc of the province outline along Cambodia, between the two tripoints described above."""
    outer = max(province.geoms, key=lambda g: g.area).exterior
    ring = LineString(outer.coords)
    west = min(ring.coords, key=lambda c: c[0])
    # of the two arcs between the tripoints, the border is the northern one
    return ring_arc(ring, (west[0], west[1]), BORDER_EAST_HINT, prefer=lambda arc: arc.centroid.y)
