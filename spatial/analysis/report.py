"""`lapis report plan.html`: the summary tables and their charts in one self-contained HTML page, in Vietnamese and
English (charts embedded as PNG data: URIs, styles inline: it opens offline, from a mail or a USB stick)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spatial.analysis import charts, summaries
from spatial.analysis.layers import read_layer, resolve_url
from spatial.layers import get_layer

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

TEMPLATE = Path(__file__).parent / "templates" / "report.html"
MAP_SAMPLE = 20_000


@dataclass
class Chart:
    uri: str
    alt: str


@dataclass
class Section:
    id: str
    title_vi: str
    title_en: str
    text_vi: str
    text_en: str
    table: str | None = None
    charts: list[Chart] = field(default_factory=list)


def chart(figure: Any, alt: str) -> Chart:
    return Chart("data:image/png;base64," + base64.b64encode(charts.png(figure)).decode(), alt)


def html_table(frame: pd.DataFrame, columns: dict[str, str], digits: int = 1) -> str:
    """A table with bilingual headers (`columns`: name → "vi / en"); numbers right-aligned."""
    import pandas as pd

    head = "".join(f"<th>{html.escape(label)}</th>" for label in columns.values())
    rows = []
    for record in frame[list(columns)].itertuples(index=False):
        cells = []
        for value in record:
            if isinstance(value, float):
                cells.append(f'<td class="num">{"" if pd.isna(value) else f"{value:,.{digits}f}"}</td>')
            elif isinstance(value, int):
                cells.append(f'<td class="num">{value:,}</td>')
            else:
                cells.append(f"<td>{'' if value is None or value is pd.NA else html.escape(str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def region_section(url: str) -> Section:
    table = summaries.region_area_by_district(url)
    return Section("region-area", "Diện tích các vùng theo huyện", "Regions' area by district",
                   "Mỗi huyện nằm trong vùng nào, bao nhiêu km² và bao nhiêu phần trăm diện tích huyện.",
                   "Which region each district lies in: km² and share of the district.",
                   html_table(table, {"district_code": "Mã / Code", "district_name": "Huyện / District",
                                      "region_code": "Vùng / Region", "area_km2": "km²",
                                      "share_of_district_pct": "% huyện / % of district"}),
                   [chart(charts.region_area_chart(table), "Diện tích vùng theo huyện / Region area by district")])


def projects_section(url: str) -> Section:
    by_axis = summaries.projects_summary(by=("axis", "status"), url=url)
    table = summaries.projects_summary(by=("axis", "status", "category"), url=url)
    return Section("projects", "Dự án theo trục động lực và trạng thái", "Projects by axis and status",
                   "Dự án gắn với trục gần nhất (trong 5 km); chiều dài vẽ được đo trên bản đồ, chiều dài và vốn "
                   "đầu tư là số đã công bố (ô trống: chưa rõ).",
                   "Each project is tied to its nearest axis (within 5 km); drawn length is measured on the map, "
                   "published length and investment are published figures (blank: unknown).",
                   html_table(table, {"axis": "Trục / Axis", "status": "Trạng thái / Status",
                                      "category": "Loại / Category", "projects": "Số dự án / Projects",
                                      "length_km_drawn": "km (vẽ / drawn)",
                                      "length_km_published": "km (công bố / published)",
                                      "investment_vnd_bn": "Vốn, tỷ đồng / Investment, VND bn",
                                      "investment_known": "Có số vốn / With investment"}),
                   [chart(charts.projects_chart(by_axis), "Dự án theo trục / Projects by axis")])


def distance_section(url: str) -> Section:
    table = summaries.project_axis_distance(url)
    return Section("axis-distance", "Khoảng cách từ dự án đến trục động lực gần nhất",
                   "Distance of projects to the nearest development axis",
                   "Khoảng cách ngắn nhất trên ellipsoid giữa dự án và trục gần nhất.",
                   "Shortest distance on the ellipsoid between each project and its nearest axis.",
                   html_table(table, {"code": "Mã / Code", "name_vi": "Dự án / Project", "category": "Loại / Category",
                                      "axis_code": "Trục / Axis", "distance_m": "Khoảng cách, m / Distance, m"}, 0),
                   [chart(charts.axis_distance_chart(table), "Khoảng cách đến trục / Distance to axis")])


def classified_parcels(parcels: gpd.GeoDataFrame | str | Path | None, url: str) -> gpd.GeoDataFrame | None:
    """Classified parcels for the parcels section: a classified frame or dataset as given, an unclassified file
    classified here (local engine), or — with nothing given — the parcels layer classified here (None if empty)."""
    import geopandas as gpd
    import pandas as pd

    from spatial.analysis.classification import classify
    from spatial.io.geoparquet import dataset_files

    if isinstance(parcels, str | Path):
        path = Path(parcels)
        files = dataset_files(path) if path.is_dir() else [path]
        if path.is_dir() and files and "lapis_region_code" in gpd.read_parquet(files[0]).columns:
            return pd.concat([gpd.read_parquet(f) for f in files], ignore_index=True)
        return classify(path, "local", url=url)
    if parcels is None:
        parcels = read_layer("parcels", url=url)
        if not len(parcels):
            return None
    return parcels if "lapis_region_code" in parcels else classify(parcels, "local", url=url)


def parcels_section(parcels: gpd.GeoDataFrame | None, url: str) -> Section:
    if parcels is None:
        return Section("parcels", "Thửa đất theo vùng và mục đích sử dụng", "Parcels by region and land use",
                       "Chưa có thửa đất nào: nạp bằng `lapis load … --layer parcels` hoặc dùng `--parcels`.",
                       "No parcels loaded: load them with `lapis load … --layer parcels` or pass `--parcels`.")
    table = summaries.parcels_by_region(parcels)
    regions = read_layer("zones", where="kind = 'region'", url=url)
    return Section("parcels", "Thửa đất theo vùng và mục đích sử dụng", "Parcels by region and land use",
                   f"{len(parcels):,} thửa, xếp vào vùng chiếm phần lớn diện tích thửa (như /classify).",
                   f"{len(parcels):,} parcels, each in the region covering most of it (as /classify).",
                   html_table(table, {"region_code": "Vùng / Region", "land_use": "Mục đích / Land use",
                                      "parcels": "Số thửa / Parcels", "area_ha": "ha (kê khai / declared)"}),
                   [chart(charts.parcels_chart(table), "Thửa đất theo vùng / Parcels by region"),
                    chart(charts.parcels_map(regions, parcels, MAP_SAMPLE), "Bản đồ thửa đất / Parcels map")])


def build_report(url: str | None = None, parcels: gpd.GeoDataFrame | str | Path | None = None) -> str:
    """The report's HTML. `parcels`: classified parcels (a frame or a `classify_file` dataset), a parcels file, or
    None for the parcels layer."""
    import jinja2

    url = resolve_url(url)
    sections = [region_section(url), projects_section(url), parcels_section(classified_parcels(parcels, url), url),
                distance_section(url)]
    template = jinja2.Environment(autoescape=True).from_string(TEMPLATE.read_text(encoding="utf-8"))
    return template.render(sections=[_safe(s) for s in sections], generated=datetime.now().strftime("%d/%m/%Y %H:%M"),
                           attribution=get_layer("admin_units").attribution or "")


def _safe(section: Section) -> Section:
    import markupsafe

    if section.table is not None:
        section.table = markupsafe.Markup(section.table)  # built from escaped cells above
    return section


def write_report(path: str | Path, url: str | None = None,
                 parcels: gpd.GeoDataFrame | str | Path | None = None) -> Path:
    path = Path(path)
    path.write_text(build_report(url, parcels), encoding="utf-8")
    return path
