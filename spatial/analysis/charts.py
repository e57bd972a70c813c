"""Charts of the summary tables (matplotlib, Agg: no display needed), as figures, PNG bytes or files.

Each chart takes the DataFrame its summary function returns (`spatial.analysis.summaries`), titled in Vietnamese
and English, so scripts, the notebook and `lapis report` draw the same pictures.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    from matplotlib.figure import Figure

REGION_COLOURS = {"R1": "#e8a87c", "R2": "#a8d08d", "R3": "#7fc8c0", "unknown": "#bbbbbb"}
STATUS_COLOURS = {"operating": "#1e8449", "completed": "#52be80", "under_construction": "#f39c12",
                  "planned": "#5dade2", "unknown": "#aab7b8"}
DPI = 110


def _figure(width: float = 8.0, height: float = 5.0) -> Figure:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def region_area_chart(table: pd.DataFrame) -> Figure:
    """Stacked bars: each district's area (km²) by the region it lies in."""
    pivot = table.pivot_table(index="district_name", columns="region_code", values="area_km2", aggfunc="sum",
                              fill_value=0.0).sort_index(ascending=False)
    fig = _figure(8, 6)
    ax = fig.add_subplot()
    left = None
    for region in pivot.columns:
        ax.barh(pivot.index, pivot[region], left=left, color=REGION_COLOURS.get(region, "#999999"), label=region)
        left = pivot[region] if left is None else left + pivot[region]
    ax.set_xlabel("km²")
    ax.set_title("Diện tích vùng theo huyện / Region area by district")
    ax.legend(title="Vùng / Region")
    return fig


def projects_chart(summary: pd.DataFrame) -> Figure:
    """Per axis and status (`projects_summary(by=("axis", "status"))`): drawn length (km) and investment (VND bn)."""
    fig = _figure(9, 5)
    for i, (column, label) in enumerate((("length_km_drawn", "km"), ("investment_vnd_bn", "tỷ đồng / VND bn"))):
        ax = fig.add_subplot(1, 2, i + 1)
        pivot = summary.pivot_table(index="axis", columns="status", values=column, aggfunc="sum", fill_value=0.0)
        bottom = None
        for status in pivot.columns:
            ax.bar(pivot.index, pivot[status], bottom=bottom, color=STATUS_COLOURS.get(status, "#999999"),
                   label=status)
            bottom = pivot[status] if bottom is None else bottom + pivot[status]
        ax.set_ylabel(label)
        ax.set_xlabel("Trục động lực / Axis")
        ax.set_title("Chiều dài / Length" if i == 0 else "Vốn đầu tư / Investment")
    fig.axes[0].legend(title="Trạng thái / Status", fontsize=8)
    fig.suptitle("Dự án theo trục và trạng thái / Projects by axis and status")
    return fig


def parcels_chart(table: pd.DataFrame) -> Figure:
    """Stacked bars: parcels per region, by land use (`parcels_by_region`)."""
    import matplotlib

    pivot = table.pivot_table(index="region_code", columns="land_use", values="parcels", aggfunc="sum", fill_value=0)
    fig = _figure(8, 5)
    ax = fig.add_subplot()
    colours = matplotlib.colormaps["tab20"]
    bottom = None
    for i, use in enumerate(pivot.columns):
        ax.bar(pivot.index, pivot[use], bottom=bottom, color=colours(i % 20), label=use)
        bottom = pivot[use] if bottom is None else bottom + pivot[use]
    ax.set_ylabel("Số thửa / Parcels")
    ax.set_title("Thửa đất theo vùng và mục đích sử dụng / Parcels by region and land use")
    ax.legend(title="Mục đích / Land use", ncols=2, fontsize=8)
    return fig


def parcels_map(regions: gpd.GeoDataFrame, parcels: gpd.GeoDataFrame, sample: int = 20_000) -> Figure:
    """The regions, and (a sample of) classified parcels as dots coloured by their primary region."""
    fig = _figure(7, 6)
    ax = fig.add_subplot()
    for _, region in regions.iterrows():
        ax.add_patch(_patch(region.geometry, REGION_COLOURS.get(region.code, "#cccccc")))
    points = parcels if len(parcels) <= sample else parcels.sample(sample, random_state=0)
    centres = points.geometry.representative_point()
    colours = points.lapis_region_code.fillna("unknown").map(lambda c: REGION_COLOURS.get(c, "#555555"))
    ax.scatter(centres.x, centres.y, s=2, c=list(colours), edgecolors="#333333", linewidths=0.1)
    ax.autoscale_view()
    ax.set_aspect(1 / 0.983)  # degrees of longitude are shorter than latitude's by cos(10.7°)
    ax.set_title("Thửa đất theo vùng / Parcels by region")
    ax.set_xlabel("kinh độ / longitude")
    ax.set_ylabel("vĩ độ / latitude")
    return fig


def _patch(geometry: Any, colour: str) -> Any:
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    vertices, codes = [], []
    for polygon in getattr(geometry, "geoms", [geometry]):
        for ring in (polygon.exterior, *polygon.interiors):
            xy = list(ring.coords)
            vertices += xy
            codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(xy) - 2) + [MplPath.CLOSEPOLY]
    return PathPatch(MplPath(vertices, codes), facecolor=colour, edgecolor="#7b6f5d", alpha=0.5, linewidth=0.6)


def axis_distance_chart(distances: pd.DataFrame) -> Figure:
    """Each project's distance to its nearest development axis (km), labelled with the axis."""
    frame = distances.sort_values("distance_m")
    fig = _figure(8, 0.3 * len(frame) + 1.5)
    ax = fig.add_subplot()
    colours = frame.status.map(lambda s: STATUS_COLOURS.get(s, "#999999"))
    ax.barh(frame.code, frame.distance_m / 1000, color=list(colours))
    for y, (km, axis) in enumerate(zip(frame.distance_m / 1000, frame.axis_code, strict=True)):
        ax.text(km, y, f" {axis}", va="center", fontsize=7)
    ax.set_xlabel("km")
    ax.set_title("Khoảng cách dự án đến trục gần nhất / Distance of projects to the nearest axis")
    return fig


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def save(table: pd.DataFrame, figure: Figure, out_dir: Path, name: str) -> tuple[Path, Path]:
    """Write `<name>.csv` (UTF-8 with BOM, so spreadsheet programs read Vietnamese right) and `<name>.png`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv, image = out_dir / f"{name}.csv", out_dir / f"{name}.png"
    table.to_csv(csv, index=False, encoding="utf-8-sig")
    image.write_bytes(png(figure))
    return csv, image
