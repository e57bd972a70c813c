"""The bundled layers as GeoJSON features: published facts (facts.py, project_facts.py) next to what the drawing
measures (areas, lengths, the districts each feature crosses), every geometry checked to lie in the province."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import LineString, MultiLineString, Point

from plan_data import facts
from plan_data.admin import ATTRIBUTION, BOUNDARY_SOURCE, LICENSE, LICENSE_URL
from plan_data.frame import Frame
from plan_data.geo import GRID, area_km2, as_multipolygon, buffer_m, feature, length_km, snap
from plan_data.project_facts import PROJECTS, ProjectFacts
from plan_data.routes import TAN_AN_CENTRE, Routes
from plan_data.sites import Sites

ACCURACY_DRAWN = "schematic"
ACCURACY_ADMIN = "official"
BOUNDARY_NOTE = ("Pre-1/7/2025 units: district level abolished and Long An merged into Tây Ninh on 2025-07-01. "
                 "Government boundaries generalised by geoBoundaries (edges off by tens to a few hundred metres); "
                 "not for cadastral work.")
CORRIDOR_BUFFER_KM = 4.0  # drawn half-width [I]; the brief gives no corridor width
DRAWN_ON = f"Drawn by LAPIS on the district boundaries: {ATTRIBUTION}"


def base(code: str, name_vi: str, name_en: str, source: str, accuracy: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "name_vi": name_vi, "name_en": name_en, "source": source, "accuracy": accuracy,
            "plan_code": facts.PLAN_CODE, **extra}


def drawn_source(facts_source: str) -> str:
    return f"{facts_source}. {DRAWN_ON}"


def pct(drawn: float, published: float | None) -> float | None:
    return None if published is None else round((drawn - published) / published * 100, 2)


def crossing(frame: Frame, geom: shapely.Geometry) -> dict[str, Any]:
    """The districts a geometry lies in, measured (lines: km per district; areas: ha per district)."""
    if geom.geom_type.endswith("Point"):
        return {"district_codes": sorted(c for c, d in frame.districts.items() if d.geom.covers(geom))}
    if geom.geom_type.endswith("LineString"):
        parts = {c: length_km(shapely.intersection(geom, d.geom)) for c, d in frame.districts.items()}
        kept = {c: round(v, 2) for c, v in sorted(parts.items()) if v >= 0.05}
        return {"district_codes": list(kept), "district_lengths_km": kept}
    parts = {c: area_km2(shapely.intersection(geom, d.geom, grid_size=GRID)) * 100 for c, d in frame.districts.items()}
    kept = {c: round(v, 1) for c, v in sorted(parts.items()) if v >= 1.0}
    return {"district_codes": list(kept), "district_areas_ha": kept}


def check_inside(frame: Frame, code: str, geom: shapely.Geometry) -> None:
    if not buffer_m(frame.province, 100.0).covers(geom):
        raise ValueError(f"{code} reaches more than 100 m outside the province")


def plans_layer() -> list[dict[str, Any]]:
    return [feature(facts.PLAN_CODE, None, {
        "code": facts.PLAN_CODE,
        "name_vi": "Quy hoạch tỉnh Long An thời kỳ 2021–2030, tầm nhìn đến năm 2050",
        "name_en": "Long An provincial master plan 2021–2030, vision 2050",
        "decision_no": "686/QĐ-TTg", "decision_date": "2023-06-13",
        "period_start": 2021, "period_end": 2030, "vision_year": 2050, "signer": "Trần Hồng Hà",
        "source": "Decision 686/QĐ-TTg; thuvienphapluat.vn; english.luatvietnam.vn",
        "accuracy": "official",
        "natural_area_km2": facts.PROVINCE["area_km2_published"],
        "consultant": "McKinsey & Company Vietnam",
        "spatial_model": "1 trung tâm – 2 hành lang kinh tế – 3 vùng KT-XH – 6 trục động lực",
        "planning_task_decision": "522/QĐ-TTg (2020-04-16)",
        "council_endorsement": "59/NQ-HĐND (2022-10-27)",
        "boundary_attribution": ATTRIBUTION, "boundary_license": LICENSE, "boundary_license_url": LICENSE_URL,
    })]


def admin_layer(frame: Frame) -> list[dict[str, Any]]:
    p = facts.PROVINCE
    drawn = area_km2(frame.province)
    units = [feature("80", frame.province, base(
        "80", "Long An", "Long An", f"Dissolve of the 15 districts. {BOUNDARY_SOURCE} Area: {p['area_source']}",
        ACCURACY_ADMIN, level="province", gso_code="80", unit_type="Tỉnh", unit_type_en="Province",
        parent_code=None, adm1_pcode="VN801", iso_3166_2=p["iso_3166_2"], boundary_date="pre-2025-07-01",
        note=BOUNDARY_NOTE, area_km2_published=p["area_km2_published"], area_km2_drawn=round(drawn, 2),
        area_diff_pct=pct(drawn, p["area_km2_published"]), area_km2_other_published=p["area_km2_other_published"],
        population_published=p["population_published"],
        border_length_km_published=p["border_length_km_published"],
        border_length_km_drawn=round(length_km(frame.border), 1),
        border_note="Cambodian border = the outline from Tân Hưng's western tip to the point nearest 10.98 N "
                    "106.20 E (Đức Huệ/Tây Ninh) [I]"))]
    for code, d in frame.districts.items():
        population, published, area_source = facts.DISTRICTS[code]
        drawn = area_km2(d.geom)
        units.append(feature(code, d.geom, base(
            code, d.name_vi, d.name_en, BOUNDARY_SOURCE, ACCURACY_ADMIN, level="district", gso_code=code,
            unit_type=d.unit_type, unit_type_en=d.unit_type_en, parent_code="80", name_vi_official=d.name_vi_official,
            adm2_pcode=d.pcode, boundary_date="pre-2025-07-01", note=BOUNDARY_NOTE,
            population_2021=population, population_source="nasaland.vn [S]",
            area_km2_published=published, area_published_source=area_source, area_km2_drawn=round(drawn, 2),
            area_diff_pct=pct(drawn, published), unknown_facts=[] if published else ["area_km2_published"])))
    return units


def region_geometry(frame: Frame, code: str, members: list[str]) -> shapely.Geometry:
    parts = [frame.geom(c) for c in members]
    for unit, boxes in facts.SPLIT_BOXES[code].items():
        parts += [shapely.intersection(frame.geom(unit), shapely.box(*b), grid_size=GRID) for b in boxes]
    return as_multipolygon(shapely.union_all(parts, grid_size=GRID))


def zones_layer(frame: Frame, sites: Sites) -> list[dict[str, Any]]:
    zones = []
    for code, name_vi, name_en, members, partial, purpose in facts.REGIONS:
        g = region_geometry(frame, code, members)
        zones.append(feature(code, g, base(
            code, name_vi, name_en, drawn_source(facts.REGION_SOURCE), ACCURACY_DRAWN, kind="region",
            member_units=members, partial_units=partial, split_boxes=facts.SPLIT_BOXES[code],
            split_rule=facts.SPLIT_RULE_TEXT, purpose=purpose, area_km2_drawn=round(area_km2(g), 2))))
    zones.append(feature("C1", frame.geom("794"), base(
        "C1", "Trung tâm Tân An", "Tân An centre", f"{facts.SRC_686}; vietnamnews.vn. Extent = TP Tân An. "
        f"{BOUNDARY_SOURCE}", ACCURACY_ADMIN, kind="centre", member_units=["794"], partial_units=[],
        role="Political-administrative centre; core city; satellite city of HCMC",
        centre_point=list(TAN_AN_CENTRE))))
    ez = sites.border_ez
    zones.append(feature("Z-KKTCK", ez, base(
        "Z-KKTCK", "Khu kinh tế cửa khẩu Long An", "Long An border-gate economic zone",
        drawn_source("dantocmiennui.vn (area over 13,000 ha, gates); drawn as discs round the three gates, cut "
                     "to the province, sized to the published area [I]"), ACCURACY_DRAWN, kind="economic_zone",
        gates=list(sites.gates), area_ha=13000, area_note="published as 'over 13,000 ha'",
        area_ha_drawn=round(area_km2(ez) * 100), drawn_radius_km=round(sites.border_ez_radius_km, 2),
        districts_published=["Tân Hưng", "Vĩnh Hưng", "Tân Thạnh", "Mộc Hóa", "Đức Huệ", "Kiến Tường"],
        **crossing(frame, ez))))
    coastal = sites.coastal_ez
    zones.append(feature("Z-KKTVB", coastal, base(
        "Z-KKTVB", "Khu kinh tế ven biển Cần Giuộc – Cần Đước (đề xuất)",
        "Cần Giuộc – Cần Đước coastal economic zone (proposal)",
        drawn_source("vamcodong.vn [S] (proposal, about 32,000 ha); Decision 686 region 1 text; drawn as the two "
                     f"districts east of {sites.coastal_ez_west_lon:.4f} E, sized to the proposal [I]"),
        ACCURACY_DRAWN, kind="industrial", member_units=[], partial_units=["806", "807"], area_ha=32000,
        area_note="proposal figure [S], not in the decision text", area_ha_drawn=round(area_km2(coastal) * 100),
        **crossing(frame, coastal))))
    return zones


def corridors_layer(frame: Frame, routes: Routes) -> list[dict[str, Any]]:
    lines = {"HL1": [routes.rr3, routes.rr4], "HL2": [routes.ql50b]}
    out = []
    for code, name_vi, name_en, route, source in facts.CORRIDORS:
        band = buffer_m(shapely.union_all(lines[code]), CORRIDOR_BUFFER_KM * 1000, quad_segs=16)
        g = as_multipolygon(snap(shapely.intersection(band, frame.province, grid_size=GRID)))
        out.append(feature(code, g, base(
            code, name_vi, name_en, drawn_source(f"{source}; band of {CORRIDOR_BUFFER_KM} km each side of the "
                                                 "drawn route [I]"), ACCURACY_DRAWN, route=route,
            width_published=None, unknown_facts=["width"], drawn_buffer_km=CORRIDOR_BUFFER_KM,
            area_km2_drawn=round(area_km2(g), 1), **crossing(frame, g))))
    return out


def axes_layer(frame: Frame, routes: Routes) -> list[dict[str, Any]]:
    lines = {"TDL1": [routes.rr3, routes.rr4], "TDL2": [routes.ql50b], "TDL3": [routes.ql62_parallel],
             "TDL4": [routes.mqt_luong_hoa_binh_chanh], "TDL5": [routes.ql_n1], "TDL6": [routes.duc_hoa_axis]}
    out = []
    for rank, (code, name_vi, name_en, roads, connects) in enumerate(facts.AXES, start=1):
        g = shapely.line_merge(shapely.union_all(lines[code]))
        g = g if isinstance(g, MultiLineString) else MultiLineString([g])
        out.append(feature(code, g, base(
            code, name_vi, name_en, drawn_source(facts.AXES_SOURCE), ACCURACY_DRAWN, rank=rank, roads=roads,
            connects=connects, width_published=None, unknown_facts=["width"],
            length_km_drawn=round(length_km(g), 2), **crossing(frame, g))))
    return out


def project_geometry(p: ProjectFacts, routes: Routes, sites: Sites) -> shapely.Geometry:
    if p.drawn.startswith("gate:"):
        return Point(sites.gates[p.drawn.removeprefix("gate:")])
    return getattr(routes, p.drawn) if hasattr(routes, p.drawn) else getattr(sites, p.drawn)


def project_props(frame: Frame, p: ProjectFacts, geom: shapely.Geometry) -> dict[str, Any]:
    unknown = [k for k in ("status", "start_year", "end_year", "investment_vnd_bn")
               if getattr(p, k) is None and k not in p.conflicts]
    props = base(p.code, p.name_vi, p.name_en, drawn_source(p.source), ACCURACY_DRAWN, category=p.category,
                 status=p.status, status_published=p.status_published, start_year=p.start_year,
                 end_year=p.end_year, investment_vnd_bn=p.investment_vnd_bn, length_km=p.length_km,
                 area_ha=p.area_ha, **crossing(frame, geom))
    if isinstance(geom, MultiLineString | LineString):
        props["length_km_drawn"] = round(length_km(geom), 2)
        props["width_published"] = p.width_published
        unknown += [k for k, v in (("length_km", p.length_km), ("width", p.width_published))
                    if v is None and k not in p.conflicts]
        props["continues_outside"] = p.continues_outside
        if p.continues_outside:
            props["stored_part"] = "the Long An part only; the road goes on outside the province"
    elif not isinstance(geom, Point):
        props["area_ha_drawn"] = round(area_km2(geom) * 100, 1)
        unknown += [] if p.area_ha is not None else ["area_ha"]
    if p.districts_published is not None:
        props["districts_published"] = p.districts_published
    if p.conflicts:
        props["fact_conflicts"] = p.conflicts
    props["unknown_facts"] = unknown
    props.update(p.extra)
    return props


def projects_layer(frame: Frame, routes: Routes, sites: Sites) -> list[dict[str, Any]]:
    out = []
    for p in PROJECTS:
        geom = project_geometry(p, routes, sites)
        check_inside(frame, p.code, geom)
        out.append(feature(p.code, geom, project_props(frame, p, geom)))
    return out
