"""The bundled land-use rules ("what may be built here?"), one per zone × use category.

None of these is an official rule. Decision 686/QĐ-TTg describes what each region, the centre and the
economic zones are *for* (brief §1.1, §1.2, §2.4); each verdict below is read off that description and marked
`inferred` with its source, so a planner sees at once that it is an interpretation to be checked against the
decision's text and the zoning plans that carry it out. Official rules are loaded over these with
`lapis load rules.csv --layer use_rules --mode upsert --key code`.
Written by `scripts/build_plan_data.py` with the other layers.

Verdicts: `allowed` (the zone exists for it), `conditional` (possible where a lower-level plan places it, or
limited in kind), `prohibited` (against the zone's stated function).
"""

from __future__ import annotations

from typing import Any

from spatial.queries.check import USE_CATEGORIES

PLAN_CODE = "QH-LA-2021-2030"
LEGAL_BASIS = "Quyết định 686/QĐ-TTg ngày 13/06/2023 (Quy hoạch tỉnh Long An 2021–2030, tầm nhìn 2050)"
SOURCE_REGIONS = ("Inferred from the regions' stated functions: invest.longan.gov.vn (thông tin quy hoạch); "
                  "cafeland.vn; nguoiquansat.vn (brief §1.1)")
SOURCE_CENTRE = "Inferred from the centre's stated role: invest.longan.gov.vn; cafeland.vn; vietnamnews.vn (brief §1.2)"
SOURCE_ZONES = "Inferred from the economic zones' stated purpose: dantocmiennui.vn; vamcodong.vn (brief §2.4)"

A, C, P = "allowed", "conditional", "prohibited"

# zone code → (source, {use: (verdict, note_vi, note_en)})
RULES: dict[str, tuple[str, dict[str, tuple[str, str, str]]]] = {
    "R1": (SOURCE_REGIONS, {
        "residential": (A, "Vùng phát triển đô thị: hành lang đô thị Bến Lức – Tân An.",
                        "An urban growth region: the Bến Lức – Tân An urban corridor."),
        "industrial": (A, "Đô thị công nghiệp ở Đức Hòa, Cần Giuộc, Cần Đước.",
                       "Industrial towns in Đức Hòa, Cần Giuộc and Cần Đước."),
        "commercial": (A, "Đô thị – công nghiệp hỗn hợp.", "Mixed urban and industrial development."),
        "logistics": (A, "Kết nối cảng và vùng Đông Nam Bộ.", "Linked to the port and the Southeast region."),
        "agriculture": (C, "Chỉ nông nghiệp ven đô, chuyên canh, công nghệ cao (Châu Thành, Tân Trụ, Tân An).",
                        "Only peri-urban, specialised or high-tech farming (Châu Thành, Tân Trụ, Tân An)."),
        "tourism": (C, "Không phải chức năng chính của vùng.", "Not among the region's stated functions."),
        "border_trade": (P, "Vùng không giáp biên giới.", "The region does not reach the border."),
    }),
    "R2": (SOURCE_REGIONS, {
        "residential": (C, "Trong các đô thị, khu dân cư hiện hữu.", "Within existing towns and settlements."),
        "industrial": (C, "Công nghiệp tập trung ở khu kinh tế cửa khẩu.",
                       "Industry belongs in the border-gate economic zone."),
        "commercial": (C, "Dịch vụ gắn với khu kinh tế cửa khẩu và du lịch.",
                       "Services tied to the border-gate economic zone and tourism."),
        "logistics": (C, "Gắn với cửa khẩu và trục QL62.", "Tied to the border gates and the NH62 axis."),
        "agriculture": (A, "Nông nghiệp ứng dụng công nghệ cao.", "High-tech agriculture."),
        "tourism": (A, "Du lịch sinh thái Đồng Tháp Mười.", "Eco-tourism on the Đồng Tháp Mười landscape."),
        "border_trade": (A, "Kinh tế cửa khẩu.", "Border-gate economy."),
    }),
    "R3": (SOURCE_REGIONS, {
        "residential": (C, "Vùng đệm sinh thái: dân cư hiện hữu, mật độ thấp.",
                        "Ecological buffer: existing, low-density settlement."),
        "industrial": (P, "Trái với chức năng vùng đệm sinh thái.", "Against the ecological buffer function."),
        "commercial": (C, "Dịch vụ phục vụ nông nghiệp và du lịch.", "Services for farming and tourism."),
        "logistics": (P, "Trái với chức năng vùng đệm sinh thái.", "Against the ecological buffer function."),
        "agriculture": (A, "Nông nghiệp ứng dụng công nghệ cao.", "High-tech agriculture."),
        "tourism": (A, "Du lịch sinh thái phù hợp vùng đệm.", "Eco-tourism fits the buffer."),
        "border_trade": (C, "Chỉ tại cửa khẩu Mỹ Quý Tây (Đức Huệ).", "Only at the Mỹ Quý Tây border gate (Đức Huệ)."),
    }),
    "C1": (SOURCE_CENTRE, {
        "residential": (A, "Đô thị trung tâm, đô thị vệ tinh của TP.HCM.", "The core city, a satellite of HCMC."),
        "industrial": (C, "Chỉ công nghiệp công nghệ cao.", "High-tech industry only."),
        "commercial": (A, "Trung tâm thương mại, dịch vụ.", "A commercial and service centre."),
        "logistics": (C, "Không phải chức năng chính của trung tâm.", "Not among the centre's stated functions."),
        "agriculture": (C, "Nông nghiệp ven đô, công nghệ cao.", "Peri-urban, high-tech farming."),
        "tourism": (A, "Dịch vụ đô thị.", "Urban services."),
        "border_trade": (P, "Trung tâm không giáp biên giới.", "The centre does not reach the border."),
    }),
    "Z-KKTCK": (SOURCE_ZONES, {
        "residential": (C, "Phục vụ khu kinh tế.", "Serving the economic zone."),
        "industrial": (A, "Dịch vụ và công nghiệp trong khu kinh tế cửa khẩu.",
                       "Services and industry in the border-gate economic zone."),
        "commercial": (A, "Thương mại cửa khẩu.", "Border trade services."),
        "logistics": (A, "Kho bãi cửa khẩu Bình Hiệp, Mỹ Quý Tây, Long Khốt.",
                      "Warehousing at the Bình Hiệp, Mỹ Quý Tây and Long Khốt gates."),
        "agriculture": (C, "Không phải chức năng chính của khu.", "Not among the zone's stated functions."),
        "tourism": (C, "Không phải chức năng chính của khu.", "Not among the zone's stated functions."),
        "border_trade": (A, "Chức năng chính của khu.", "The zone's main function."),
    }),
    "Z-KKTVB": (SOURCE_ZONES, {
        "residential": (C, "Theo quy hoạch chung khu kinh tế (đề xuất).", "As the zone's plan (a proposal) places it."),
        "industrial": (A, "Khu kinh tế ven biển (đề xuất).", "A coastal economic zone (proposal)."),
        "commercial": (A, "Khu kinh tế ven biển (đề xuất).", "A coastal economic zone (proposal)."),
        "logistics": (A, "Gắn với cảng quốc tế Long An trên sông Soài Rạp.",
                      "Tied to Long An International Port on the Soài Rạp."),
        "agriculture": (C, "Không phải chức năng chính của khu.", "Not among the zone's stated functions."),
        "tourism": (C, "Không phải chức năng chính của khu.", "Not among the zone's stated functions."),
        "border_trade": (P, "Khu không giáp biên giới.", "The zone does not reach the border."),
    }),
}

USE_NAMES = {use: (vi.lower(), en.lower()) for use, (vi, en) in USE_CATEGORIES.items()}


def rules_layer(zones: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """GeoJSON features (no geometry) for the `use_rules` layer, named after the zones they apply to."""
    zone_names = {f["properties"]["code"]: (f["properties"]["name_vi"], f["properties"]["name_en"]) for f in zones}
    features = []
    for zone_code, (source, uses) in RULES.items():
        zone_vi, zone_en = zone_names[zone_code]
        for use, (verdict, note_vi, note_en) in uses.items():
            code = f"RULE-{zone_code}-{use}"
            use_vi, use_en = USE_NAMES[use]
            features.append({"type": "Feature", "id": code, "geometry": None, "properties": {
                "code": code, "plan_code": PLAN_CODE,
                "name_vi": f"{zone_vi}: {use_vi}", "name_en": f"{zone_en}: {use_en}",
                "zone_code": zone_code, "use_category": use, "verdict": verdict,
                "legal_basis": LEGAL_BASIS, "note_vi": note_vi, "note_en": note_en, "inferred": True,
                "source": source, "accuracy": "inferred",
            }})
    return features

