"""Published facts of the plan's projects (brief §2). `drawn` names the geometry each one takes from the
drawing; statuses, years, figures and widths are the brief's or `None` (then listed as unknown)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plan_data.facts import conflict


@dataclass(frozen=True)
class ProjectFacts:
    code: str
    name_vi: str
    name_en: str
    category: str
    drawn: str  # attribute of Routes / Sites holding the geometry
    source: str
    status: str | None  # planned | under_construction | completed | operating, only where the brief says so
    status_published: str  # the brief's own words, or "unknown"
    start_year: int | None = None
    end_year: int | None = None
    investment_vnd_bn: float | None = None
    length_km: float | None = None
    area_ha: float | None = None
    width_published: str | None = None  # roads only; None = unknown
    districts_published: list[str] | None = None  # district names as the brief gives them
    continues_outside: bool = False  # the road goes on outside Long An (brief); only its Long An part is stored
    conflicts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


PROJECTS: list[ProjectFacts] = [
    ProjectFacts(
        "DA-VD3", "Đường Vành đai 3 TP.HCM – đoạn qua Long An", "HCMC Ring Road 3 – Long An section", "ring_road",
        "rr3", "en.sggp.org.vn (2023-06-30 post103267; post113600); vietbao.vn", "under_construction",
        "groundbreaking 2023-06-30; expected finished by 2025-12-31, final interchange by 2025-10-31 (as of 11/2024)",
        start_year=2023, end_year=2025, length_km=6.84, width_published="8 lanes long-term (whole ring)",
        districts_published=["Bến Lức"], continues_outside=True,
        extra={"ends_at": "Mỹ Yên interchange (HCMC–Trung Lương × Bến Lức–Long Thành), Mỹ Yên commune",
               "starts_at": "HCMC/Long An boundary (from Bình Chánh)", "whole_project_length_km": 76.34,
               "whole_project_investment_note": "over VND 75,000 bn (whole project)",
               "investment_note": "Long An section cost not found"}),
    ProjectFacts(
        "DA-VD4", "Đường Vành đai 4 TP.HCM – đoạn qua Long An", "HCMC Ring Road 4 – Long An section", "ring_road",
        "rr4", "en.sggp.org.vn (post116727, post118042); news.laodong.vn; vietbao.vn; vietnam.vn/en", None,
        "PPP; site clearance to finish by 6/2026, whole project by end-2028 (PM directive, 6/2025)",
        end_year=2028, investment_vnd_bn=68700, width_published="8 lanes (older plan figure, whole road)",
        districts_published=["Đức Hòa", "Bến Lức", "Cần Đước", "Cần Giuộc"], continues_outside=True,
        conflicts={"length_km": conflict((78.3, "en.sggp.org.vn 2025-04-02"),
                                         (74.5, "news.laodong.vn; en.sggp.org.vn 2025-06-05"),
                                         (71.0, "2022 draft"))},
        extra={"investment_note": "about VND 68.7 trillion across 4 sub-projects", "land_ha": 579.51,
               "households_affected": 2290, "funding": "PPP: central VND 31,013.26 bn; Long An 10,000.05 bn; "
               "HCMC 1,767.88 bn; investors 25,934.34 bn", "districts_note": "full district list [I] in the brief"}),
    ProjectFacts(
        "DA-CT-HCM-TL", "Đường cao tốc TP.HCM – Trung Lương (đoạn qua Long An)",
        "HCMC – Trung Lương expressway (Long An part)", "expressway", "hcmc_trung_luong", "plo.vn; vietnamplus",
        None, "unknown (widening to 8 lanes proposed)", investment_vnd_bn=9880,
        districts_published=["Bến Lức", "Thủ Thừa", "Tân An", "Châu Thành"], continues_outside=True,
        extra={"whole_project_length_km": 62, "investment_note": "whole project, revised to over VND 9,880 bn",
               "districts_note": "district list [I] in the brief"}),
    ProjectFacts(
        "DA-CT-BL-LT", "Đường cao tốc Bến Lức – Long Thành (đoạn qua Long An)",
        "Bến Lức – Long Thành expressway (Long An part)", "expressway", "ben_luc_long_thanh",
        "vtcnews.vn (2025-04); znews.vn", None, "technical opening 2025", investment_vnd_bn=29587, length_km=2.7,
        continues_outside=True,
        extra={"whole_project_length_km": 57.8, "investment_note": "whole project (JICA, ADB, state, VEC)",
               "starts_at": "Mỹ Yên interchange (HCMC–Trung Lương expressway, Bến Lức)"}),
    ProjectFacts(
        "DA-DT830E", "Đường tỉnh 830E", "Provincial road ĐT830E", "provincial_road", "dt830e",
        "vietbao.vn; danviet.vn", "under_construction", "started 2023-04-21", start_year=2023,
        investment_vnd_bn=3707, length_km=9.3,
        extra={"note": "First phase of the Ring Road 4 alignment: An Thạnh (Bến Lức) – Long Định (Cần Đước)"}),
    ProjectFacts(
        "DA-DT823D", "Đường tỉnh 823D", "Provincial road ĐT823D", "provincial_road", "dt823d",
        "vietbao.vn (2021-12)", None, "unknown (source of 2021-12)", investment_vnd_bn=2500, length_km=14.27,
        width_published="6 lanes",
        extra={"note": "From the Bình Chánh boundary (Võ Văn Kiệt extension) to the Hậu Nghĩa interchange"}),
    ProjectFacts(
        "DA-DT822B", "Đường tỉnh 822B", "Provincial road ĐT822B", "provincial_road", "dt822b", "realtier.net",
        None, "unknown", investment_vnd_bn=920, length_km=11.4,
        extra={"investment_note": "phase 1", "bridge": "Vàm Cỏ Đông bridge 536 m (VND 322 bn)",
               "note": "Links Mỹ Quý Tây with N2; completes the Đức Hòa axis"}),
    ProjectFacts(
        "DA-QL50B", "Quốc lộ 50B (ĐT827E)", "National Road 50B (former ĐT827E)", "national_road", "ql50b",
        "baolongan.vn (a176809); vietnam.vn/en; boxaydung.gov.vn", "under_construction",
        "HCMC → Vàm Cỏ Đông river section under construction (2024); start of works 2025",
        continues_outside=True,
        conflicts={"start_year": conflict(
            (2024, "'under construction (2024)', baolongan.vn a176809"),
            (2025, "'start of works 2025', brief §2.3 (vietnam.vn/en; boxaydung.gov.vn)"))},
        extra={"my_loc_section_km": 9.2, "note": "About 9.2 km through Mỹ Lộc commune (Cần Giuộc); total length "
               "and cost not found"}),
    ProjectFacts(
        "DA-QL62", "Nâng cấp Quốc lộ 62", "National Road 62 upgrade", "national_road", "ql62",
        "vietnam.vn/fr (quoc-lo-62-qua-long-an-sap-duoc-nang-cap)", "planned", "'sắp được nâng cấp' (to be upgraded)",
        width_published="11 m (grade III, 80 km/h)",
        extra={"note": "From Km4 in Tân An to the Bình Hiệp international border gate (Kiến Tường); Tân Thạnh "
               "bypass Km41+100–Km49+150", "investment_note": "part of a 3-road package over VND 7,100 bn"}),
    ProjectFacts(
        "DA-QLN2", "Quốc lộ N2 (đường Hồ Chí Minh) qua Long An", "National Road N2 (Hồ Chí Minh road), Long An",
        "national_road", "ql_n2", "baolongan.vn (a73951); vietbao.vn; viettimes.vn", None, "unknown",
        continues_outside=True,
        extra={"note": "Đức Hòa – Mỹ An (Đồng Tháp), meeting ĐT823D and RR4 at Hậu Nghĩa; route via Thạnh Hóa – Tân "
               "Thạnh [S]", "route_alternative": "TEDI proposal: Trảng Bàng (Tây Ninh) → Thạnh Hóa instead of the "
               "Z-shape via Đức Hòa"}),
    ProjectFacts(
        "DA-VDTA", "Đường vành đai TP Tân An", "Tân An ring road", "urban_road", "tan_an_ring",
        "baolongan.vn (a176809)", "completed", "opened 2023-12-23", end_year=2023, investment_vnd_bn=3102,
        length_km=22.0,
        extra={"length_note": "published as 'over 22 km'", "bridges": 5,
               "note": "From QL62 (Mỹ Phú crossroads, Thủ Thừa) to QL1/ĐT833 (Tân An)"}),
    ProjectFacts(
        "DA-CLA", "Cảng quốc tế Long An", "Long An International Port", "port", "port",
        "eng.longan.gov.vn; sggpnews.org.vn; theloadstar.com; en.qdnd.vn", "operating",
        "container service since 2023-06-24", area_ha=147,
        conflicts={"cluster_area_ha": conflict((1925, "brief §2.4"), (1935, "brief §2.4"))},
        extra={"investor": "Dong Tam Group", "commune": "Tân Tập", "river": "Soài Rạp", "berths": 7,
               "berth_length_m": 1670, "dwt": "30,000–70,000", "from_sea_mouth_km": 19,
               "planned": "9–10 berths, 2,368 m, 100,000 DWT", "investment_note":
               "about VND 10,000 bn, stated with the planned expansion; scope unclear, so not in investment_vnd_bn"}),
    ProjectFacts(
        "DA-KCN-CLA", "Khu công nghiệp cảng quốc tế Long An", "Long An International Port industrial park",
        "industrial_park", "port_ip", "eng.longan.gov.vn (396 ha IP within the port cluster)", None, "unknown",
        area_ha=396),
    ProjectFacts(
        "DA-KKTCK", "Khu kinh tế cửa khẩu Long An", "Long An border-gate economic zone", "economic_zone",
        "border_ez", "dantocmiennui.vn", None, "unknown", area_ha=13000,
        districts_published=["Tân Hưng", "Vĩnh Hưng", "Tân Thạnh", "Mộc Hóa", "Đức Huệ", "Kiến Tường"],
        extra={"area_note": "published as 'over 13,000 ha'", "gates": ["Bình Hiệp", "Mỹ Quý Tây", "Long Khốt"]}),
    ProjectFacts(
        "DA-CK-BH", "Cửa khẩu quốc tế Bình Hiệp", "Bình Hiệp international border gate", "other", "gate:Bình Hiệp",
        "dantocmiennui.vn; vietnam.vn/fr (QL62 ends there)", None, "unknown", districts_published=["Kiến Tường"],
        extra={"facility": "international border gate"}),
    ProjectFacts(
        "DA-CK-MQT", "Cửa khẩu quốc tế Mỹ Quý Tây", "Mỹ Quý Tây international border gate", "other",
        "gate:Mỹ Quý Tây", "dantocmiennui.vn", None, "unknown", districts_published=["Đức Huệ"],
        extra={"facility": "international border gate"}),
    ProjectFacts(
        "DA-CK-LK", "Cửa khẩu quốc tế Long Khốt", "Long Khốt international border gate", "other", "gate:Long Khốt",
        "dantocmiennui.vn", None, "unknown", districts_published=["Vĩnh Hưng"],
        extra={"facility": "international border gate", "districts_note": "district [I] in the brief"}),
]
