"""Write every bundled layer and return the figures worth reporting (drawn next to published)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plan_data import facts
from plan_data.features import admin_layer, axes_layer, corridors_layer, plans_layer, projects_layer, zones_layer
from plan_data.frame import Frame
from plan_data.geo import area_km2, length_km, write_fc
from plan_data.routes import RR4_PUBLISHED_KM, draw_routes
from plan_data.rules import rules_layer
from plan_data.sites import draw_sites

LAYERS = ("plans", "admin_units", "zones", "corridors", "axes", "projects", "use_rules")


def build(out_dir: Path) -> dict[str, Any]:
    frame = Frame.load()
    sites = draw_sites(frame)
    routes = draw_routes(frame, sites.gates)
    layers = {
        "plans": plans_layer(),
        "admin_units": admin_layer(frame),
        "zones": zones_layer(frame, sites),
        "corridors": corridors_layer(frame, routes),
        "axes": axes_layer(frame, routes),
        "projects": projects_layer(frame, routes, sites),
    }
    layers["use_rules"] = rules_layer(layers["zones"])
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in LAYERS:
        write_fc(out_dir / f"{name}.geojson", layers[name])
    return summary(frame, layers)


def summary(frame: Frame, layers: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    districts = {}
    for f in layers["admin_units"]:
        p = f["properties"]
        districts[f"{p['code']} {p['name_vi']}"] = {"drawn_km2": p["area_km2_drawn"],
                                                     "published_km2": p["area_km2_published"],
                                                     "diff_pct": p["area_diff_pct"]}
    projects = {f["id"]: {"drawn_km": f["properties"].get("length_km_drawn"),
                          "published_km": f["properties"].get("length_km"),
                          "districts": f["properties"]["district_codes"]}
                for f in layers["projects"] if f["geometry"]["type"] == "MultiLineString"}
    axes = {f["id"]: f["properties"]["length_km_drawn"] for f in layers["axes"]}
    return {
        "province_km2": {"drawn": round(area_km2(frame.province), 2),
                         "published": facts.PROVINCE["area_km2_published"]},
        "border_km": {"drawn": round(length_km(frame.border), 1), "published": [132.0, 137.7]},
        "ring_road_4_published_km": list(RR4_PUBLISHED_KM),
        "admin_units": districts,
        "axes_km_in_province": axes,
        "roads": projects,
    }
