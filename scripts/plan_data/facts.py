"""Published facts from the research brief (longan-plan.md), with their sources and the brief's marks
([V] verified, [S] secondary, [I] inference). Nothing here is measured from the drawing.

Rules: a status, year, length, area or width the brief does not give is `None` and listed in the feature's
`unknown_facts`; where the brief gives two values for one fact, both are kept in `fact_conflicts` and the
column stays empty rather than one being picked silently.
"""

from __future__ import annotations

from typing import Any

PLAN_CODE = "QH-LA-2021-2030"
SRC_686 = "Decision 686/QĐ-TTg; invest.longan.gov.vn; cafeland.vn"

PROVINCE = {
    "area_km2_published": 4494.8,  # Decision 686 (vneconomy)
    "area_source": "Decision 686/QĐ-TTg natural area (vneconomy.vn), brief §0/§3.1 [V]",
    "area_km2_other_published": [
        {"value": 4494.94, "source": "planning task, Decision 522/QĐ-TTg (vn24h.vn) [V]"},
        {"value": 4494.79, "source": "449,479 ha in the planning report (phucancity.net); Wikipedia 4,494.79 km² [V]"},
    ],
    "population_published": [
        {"value": 1688547, "year": 2021, "source": "sum of district figures, nasaland.vn [S]"},
        {"value": 1713658, "year": None, "source": "planning-report average, phucancity.net [S]"},
        {"value": 1743400, "year": 2023, "source": "Wikipedia [V]"},
    ],
    "border_length_km_published": [
        {"value": 132.0, "source": "ever.vn [V]"}, {"value": 137.7, "source": "tapchikientruc.com.vn [V]"},
    ],
    "iso_3166_2": "VN-41",
}

# GSO code -> (population 2021 [S] nasaland.vn, published area km² or None, area source)
DISTRICTS: dict[str, tuple[int, float | None, str | None]] = {
    "794": (145120, 81.94, "brief §3 [S]"),
    "795": (43674, 204.28, "en.wikipedia.org [V]"),
    "796": (47651, None, None),
    "797": (50074, 384.52, "lqdlongan.com [S]"),
    "798": (28165, None, None),
    "799": (77537, None, None),
    "800": (56074, None, None),
    "801": (65961, 430.92, "vamcodong.vn [S]"),
    "802": (315711, None, None),
    "803": (181660, None, None),
    "804": (98333, None, None),
    "805": (66502, None, None),
    "806": (187359, None, None),
    "807": (214914, None, None),
    "808": (109812, None, None),
}

# Regions (brief §1.1): code, name_vi, name_en, whole members, partial members, purpose
REGIONS: list[tuple[str, str, str, list[str], list[str], str]] = [
    ("R1", "Vùng đô thị và công nghiệp", "Urban and industrial region",
     ["794", "802", "803", "806", "807", "808"], ["804", "805"],
     "Mixed urban and industrial development; central urban corridor Bến Lức – Tân An; industrial towns in "
     "Đức Hòa, Cần Giuộc and Cần Đước; an economic zone in Cần Giuộc and Cần Đước; peri-urban, specialised and "
     "high-tech agriculture in Châu Thành, Tân Trụ and Tân An"),
    ("R2", "Vùng nông nghiệp ứng dụng công nghệ cao, du lịch và kinh tế cửa khẩu",
     "High-tech agriculture, tourism and border-gate economy region",
     ["795", "796", "797", "798", "799", "800"], ["804"],
     "Services and industry in the border-gate economic zone; eco-tourism on the Đồng Tháp Mười landscape; "
     "high-tech agriculture"),
    ("R3", "Vùng đệm sinh thái", "Ecological buffer region", ["801"], ["804", "805"],
     "High-tech agriculture and ecological buffer functions (the source excerpt breaks off)"),
]
REGION_SOURCE = ("Decision 686/QĐ-TTg; invest.longan.gov.vn; cafeland.vn; nguoiquansat.vn (names and R1/R2 members "
                 "[V]); R3 membership and the split lines [I]")

# Split of the two partial districts into regions [I]: half-planes (lon/lat boxes). The brief says only "part
# of" Thủ Thừa (R1 and R2) and "part of" Tân Trụ (R1); the leftovers go to R3 (brief §1.1).
THU_THUA_SPLIT_LON = 106.290  # west of it: Thủ Thừa next to Thạnh Hóa → R2
THU_THUA_SPLIT_LAT = 10.700  # east of the meridian: north (next to Đức Huệ) → R3, south → R1
TAN_TRU_SPLIT_LAT = 10.515  # Tân Trụ north → R1, south (Vàm Cỏ riverside) → R3
SPLIT_BOXES: dict[str, dict[str, list[list[float]]]] = {
    "R1": {"804": [[THU_THUA_SPLIT_LON, 9.0, 108.0, THU_THUA_SPLIT_LAT]],
           "805": [[104.0, TAN_TRU_SPLIT_LAT, 108.0, 12.0]]},
    "R2": {"804": [[104.0, 9.0, THU_THUA_SPLIT_LON, 12.0]]},
    "R3": {"804": [[THU_THUA_SPLIT_LON, THU_THUA_SPLIT_LAT, 108.0, 12.0]],
           "805": [[104.0, 9.0, 108.0, TAN_TRU_SPLIT_LAT]]},
}
SPLIT_RULE_TEXT = (
    f"Thủ Thừa (804): west of meridian {THU_THUA_SPLIT_LON} E -> R2; east of it and north of parallel "
    f"{THU_THUA_SPLIT_LAT} N -> R3; east of it and south of {THU_THUA_SPLIT_LAT} N -> R1. Tân Trụ (805): north of "
    f"parallel {TAN_TRU_SPLIT_LAT} N -> R1, south -> R3. Straight lines chosen by LAPIS [I], not from the "
    "decision text; `split_boxes` gives them as lon/lat boxes."
)

CORRIDORS: list[tuple[str, str, str, str, str]] = [
    ("HL1", "Hành lang đường Vành đai 3 – 4", "Ring Road 3–4 corridor", "HCMC Ring Road 3 + Ring Road 4",
     "Decision 686/QĐ-TTg; invest.longan.gov.vn; cafeland.vn; vietnam.vn/en"),
    ("HL2", "Hành lang phát triển phía Nam", "Southern development corridor", "QL50B (formerly ĐT827E)",
     "Decision 686/QĐ-TTg; invest.longan.gov.vn; cafeland.vn; vietnam.vn/en"),
]

AXES: list[tuple[str, str, str, list[str], str]] = [
    ("TDL1", "Trục động lực Vành đai 3 – Vành đai 4", "Ring Road 3–4 axis", ["Vành đai 3", "Vành đai 4"],
     "Long An ↔ Southeast region / HCMC; Long Thành airport ↔ Long An port"),
    ("TDL2", "Trục động lực quốc lộ 50B", "National Highway 50B axis", ["QL50B (ĐT827E)"],
     "HCMC – Long An – Tiền Giang; gateway for the 13 Mekong Delta provinces"),
    ("TDL3", "Trục động lực song hành quốc lộ 62", "Axis parallel to NH62", ["new road parallel to QL62"],
     "TP Tân An – Long An border-gate economic zone – Đồng Tháp Mười (Bình Hiệp gate)"),
    ("TDL4", "Trục động lực Mỹ Quý Tây – Lương Hòa – Bình Chánh", "Mỹ Quý Tây – Lương Hòa – Bình Chánh axis",
     ["Mỹ Quý Tây – Lương Hòa – Bình Chánh road"],
     "Mỹ Quý Tây border gate – Bình Hòa Nam parks – urban/industrial Bến Lức – HCMC"),
    ("TDL5", "Trục động lực quốc lộ N1", "NH N1 axis", ["QL N1"],
     "Border road; Long An ↔ Mekong Delta, Southeast region and Central Highlands, avoiding HCMC"),
    ("TDL6", "Trục động lực Đức Hòa", "Đức Hòa axis", ["ĐT838", "ĐT822B", "ĐT823D"],
     "Mỹ Quý Tây border gate and the Đức Hòa/Bến Lức industrial and urban areas ↔ HCMC"),
]
AXES_SOURCE = "Decision 686/QĐ-TTg; thanhnien.vn; sggp.org.vn; tacdattacvang.com.vn; alignment drawn [I]"


def conflict(*values: tuple[Any, str]) -> list[dict[str, Any]]:
    return [{"value": v, "source": s} for v, s in values]
