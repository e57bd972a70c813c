"""The bundled district boundaries are the OCHA COD-AB 2020 file, byte for byte, and their CC BY 3.0 IGO
attribution is where the licence asks for it: NOTICE, README, each feature's `source`, the web map."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
import shapely
from shapely.geometry import shape

from spatial.tiles.style import plan_style
from tests.data.bundle import LAYERS, OPENDATA, ROOT, area_km2, districts, load

OCHA_FILE = OPENDATA / "longan_districts_ochacod2020.geojson"
OCHA_SHA256 = "a62c5f2300ff931e989b434cf579cf155ac5da610b85f06472c613685926f91f"
LICENSE_URL = "https://creativecommons.org/licenses/by/3.0/igo/"
ATTRIBUTION_PARTS = ("© Government of Viet Nam / OCHA ROAP", "COD-AB, vnm_adm_gov_20201027",
                     "Humanitarian Data Exchange", "CC BY 3.0 IGO", "geoBoundaries", "Runfola et al. 2020",
                     "Extracted and modified", "Attribution does not imply endorsement")


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"^> ?", "", text, flags=re.M))


def test_bundled_boundaries_are_the_ocha_file():
    assert hashlib.sha256(OCHA_FILE.read_bytes()).hexdigest() == OCHA_SHA256
    source = {f["properties"]["gso_code"]: shape(f["geometry"])
              for f in json.loads(OCHA_FILE.read_text(encoding="utf-8"))["features"]}
    units = districts()
    assert sorted(source) == sorted(units)
    for code, g in source.items():
        assert area_km2(g.symmetric_difference(units[code])) < 1e-4, code  # same geometry, 7 decimals


def test_notice_and_readme_carry_the_attribution():
    for path in (ROOT / "NOTICE", ROOT / "README.md", OPENDATA / "README.md"):
        text = _flat(path.read_text(encoding="utf-8"))
        for part in ATTRIBUTION_PARTS:
            assert part in text, (path.name, part)
        assert LICENSE_URL in text, path.name


@pytest.mark.parametrize("name", [n for n in LAYERS if n != "plans"])
def test_every_feature_source_names_the_boundaries(name):
    for f in load(name)["features"]:
        source = f["properties"]["source"]
        for part in ("OCHA ROAP", "CC BY 3.0 IGO", "geoBoundaries"):
            assert part in source, (name, f["id"], part)


def test_plan_record_links_the_licence():
    (plan,) = load("plans")["features"]
    assert plan["properties"]["boundary_license_url"] == LICENSE_URL
    assert "CC BY 3.0 IGO" in plan["properties"]["boundary_attribution"]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_web_map_attribution_line(lang):
    style = plan_style(tilejson_url="/tiles/WebMercatorQuad/tilejson.json", lang=lang)
    credits = " ".join(s.get("attribution", "") for s in style["sources"].values())
    for part in ATTRIBUTION_PARTS:
        assert part in credits, part
    assert LICENSE_URL in credits


def test_province_is_the_dissolve_of_the_districts():
    province = shape(next(f for f in load("admin_units")["features"] if f["id"] == "80")["geometry"])
    assert area_km2(province.symmetric_difference(shapely.union_all(list(districts().values())))) < 0.01
