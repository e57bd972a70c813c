"""A QGIS project of the plan (`lapis qgis project plan.qgz`), written without QGIS.

The layers are the plan map's (`spatial.tiles.style.plan_style`, the web map's own style) read either from the LAPIS
server as OGC API – Features or straight from PostGIS, drawn and labelled as the web map draws them, in Vietnamese
(English with lang='en'). A `.qgz` is a zip holding one `.qgs` XML document, which QGIS 3.22 (Debian 12) opens.

A QGIS vector layer has one geometry kind, and a LAPIS layer may mix them (projects: areas, roads, ports as points):
such a layer becomes one QGIS layer per kind, in a group. From PostGIS the provider filters by kind (`type=`); QGIS
3.22's OAPIF provider cannot (it fixes a layer's kind from its first features), so those layers are read through
GDAL's OAPIF driver (QGIS's `ogr` provider, `geometrytype=`), the same API.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from spatial.conninfo import connection_params, libpq_form
from spatial.crs import STORAGE_SRID
from spatial.io.crs import PROVINCE_BBOX
from spatial.layers import LAYERS
from spatial.qgis.expressions import rgba, scale_of_zoom
from spatial.qgis.labels import label_rule, labeling
from spatial.qgis.symbols import draw_rule, renderer
from spatial.qgis.xml import element, spatial_ref
from spatial.registry import GEOMETRY_KINDS, Layer, Registry
from spatial.tiles.style import plan_style

Source = Literal["oapif", "postgis"]
SOURCES: tuple[Source, ...] = ("oapif", "postgis")
QGIS_VERSION = "3.22.16-Białowieża"  # the QGIS the file is written for (Debian 12's)
PROJECT_CRS = "EPSG:3857"
DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
_GEOMETRY = {"Polygon": "Polygon", "LineString": "Line", "Point": "Point"}  # QGIS's names of the kinds
_KIND_NAMES = {"vi": {"Polygon": "vùng", "LineString": "tuyến", "Point": "điểm"},
               "en": {"Polygon": "areas", "LineString": "lines", "Point": "points"}}
_OTHER = {"vi": "khác", "en": "other"}


@dataclass(frozen=True)
class QgisLayer:
    """One layer of the project: a LAPIS layer, or one geometry kind of it."""

    id: str
    name: str
    layer: Layer
    kind: str  # Polygon | LineString | Point
    provider: str
    datasource: str
    in_group: bool  # one of several kinds of its LAPIS layer, shown in a group named after it


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _oapif(base_url: str, layer: Layer, kind: str, mixed: bool, detail: bool) -> tuple[str, str]:
    if mixed:
        return "ogr", f"OAPIF:{base_url}|layername={layer.id}|geometrytype={kind}"
    bbox_only = "'1'" if detail else "'0'"  # a big layer is asked for what is in view only
    return "OAPIF", (f"pagingEnabled='true' restrictToRequestBBOX={bbox_only} typename={_quoted(layer.id)} "
                     f"url={_quoted(base_url)}")


def _postgis(conninfo: str, layer: Layer, kind: str) -> tuple[str, str]:
    return "postgres", (f"{conninfo} key='id' srid={STORAGE_SRID} type=Multi{kind} checkPrimaryKeyUnicity='0' "
                        f'table="public"."{layer.id}" (geom)')


def qgis_layers(source: Source, url: str, *, lang: str = "vi", detail: bool = False,
                registry: Registry = LAYERS) -> list[QgisLayer]:
    """The project's layers, bottom to top. `url`: the LAPIS server (oapif) or the database (postgis; its password
    is left out: QGIS asks for it, or libpq reads `PGPASSWORD`/`~/.pgpass`). `detail` adds the layers the plan map
    draws only when zoomed in (parcels)."""
    base_url = url.rstrip("/")
    conninfo = libpq_form(connection_params(url)) if source == "postgis" else ""
    result = []
    for layer in registry.styled:
        if layer.tiles is not None and layer.tiles.composite_min_zoom and not detail:
            continue
        kinds = GEOMETRY_KINDS[layer.geometry_type or "Geometry"]
        title = layer.title_en if lang == "en" else layer.title_vi
        for kind in kinds:
            mixed = len(kinds) > 1
            provider, datasource = (_postgis(conninfo, layer, kind) if source == "postgis"
                                    else _oapif(base_url, layer, kind, mixed, detail))
            # QGIS keeps a layer id only when it is over 10 characters long
            result.append(QgisLayer(f"lapis_{layer.id}_{kind.lower()}",
                                    f"{title} — {_KIND_NAMES[lang][kind]}" if mixed else title,
                                    layer, kind, provider, datasource, mixed))
    return result


def _map_layer(qgis_layer: QgisLayer, fragments: list[dict[str, Any]], legend: dict[str, str],
               lang: str) -> ET.Element:
    kind = qgis_layer.kind
    draws = [f for f in fragments if f["type"] != "symbol"]
    rules = [r for level, f in enumerate(draws) if (r := draw_rule(f, kind, level, legend, _OTHER[lang]))]
    labels = [r for f in fragments if f["type"] == "symbol" and (r := label_rule(f, kind)) is not None]
    first_zoom = min((f.get("minzoom", 0) for f in draws), default=0)
    node = element("maplayer", {
        "type": "vector", "geometry": _GEOMETRY[kind], "wkbType": f"Multi{kind}", "labelsEnabled": int(bool(labels)),
        "hasScaleBasedVisibilityFlag": int(first_zoom > 0),
        "minScale": round(scale_of_zoom(first_zoom)) if first_zoom else 100_000_000, "maxScale": 0,
        "simplifyDrawingHints": 1, "simplifyDrawingTol": 1, "simplifyLocal": 1, "simplifyAlgorithm": 0,
        "simplifyMaxScale": 1, "autoRefreshEnabled": 0})
    node.extend([
        element("id", text=qgis_layer.id), element("datasource", text=qgis_layer.datasource),
        element("layername", text=qgis_layer.name), element("srs", children=[spatial_ref(f"EPSG:{STORAGE_SRID}")]),
        element("provider", {"encoding": "UTF-8"}, text=qgis_layer.provider), renderer(rules),
        labeling(labels), element("blendMode", text="0"), element("featureBlendMode", text="0"),
        element("layerOpacity", text="1"),
    ])
    return node


def _tree(qgis_layers_: list[QgisLayer]) -> ET.Element:
    """The layer panel, top layer first; the kinds of one LAPIS layer in a group named after it."""
    root = element("layer-tree-group")
    groups: dict[str, ET.Element] = {}
    for qgis_layer in reversed(qgis_layers_):
        node = element("layer-tree-layer", {"id": qgis_layer.id, "name": qgis_layer.name,
                                            "source": qgis_layer.datasource, "providerKey": qgis_layer.provider,
                                            "checked": "Qt::Checked", "expanded": 1})
        if not qgis_layer.in_group:
            root.append(node)
            continue
        if qgis_layer.layer.id not in groups:
            name = qgis_layer.name.rsplit(" — ", 1)[0]
            groups[qgis_layer.layer.id] = element("layer-tree-group", {"name": name, "checked": "Qt::Checked",
                                                                       "expanded": 1})
            root.append(groups[qgis_layer.layer.id])
        groups[qgis_layer.layer.id].append(node)
    return root


def _web_mercator(lon: float, lat: float) -> tuple[float, float]:
    radius = 6378137.0
    return radius * math.radians(lon), radius * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _canvas() -> ET.Element:
    (xmin, ymin), (xmax, ymax) = _web_mercator(*PROVINCE_BBOX[:2]), _web_mercator(*PROVINCE_BBOX[2:])
    extent = element("extent", children=[element(k, text=f"{v:.1f}") for k, v in
                                         (("xmin", xmin), ("ymin", ymin), ("xmax", xmax), ("ymax", ymax))])
    return element("mapcanvas", {"name": "theMapCanvas", "annotationsVisible": 1}, [
        element("units", text="meters"), extent, element("rotation", text="0"),
        element("destinationsrs", children=[spatial_ref(PROJECT_CRS)]), element("rendermaptile", text="0")])


def _properties(background: str) -> ET.Element:
    red, green, blue, _ = rgba(background)
    gui = element("Gui", children=[element(f"CanvasColor{part}Part", {"type": "int"}, text=str(value))
                                   for part, value in (("Red", red), ("Green", green), ("Blue", blue))])
    # QGIS 3.22 reads <projectCrs> only when the project says it has one
    crs = element("SpatialRefSys", children=[element("ProjectionsEnabled", {"type": "int"}, text="1"),
                                             element("ProjectCrs", {"type": "QString"}, text=PROJECT_CRS)])
    return element("properties", children=[gui, crs])


def project_document(layers: list[QgisLayer], *, lang: str = "vi", registry: Registry = LAYERS) -> ET.Element:
    """The `.qgs` document of these layers (from `qgis_layers`)."""
    style = plan_style(tilejson_url="", lang=lang, registry=registry)
    fragments: dict[str, list[dict[str, Any]]] = {}
    for fragment in style["layers"]:
        if "source-layer" in fragment:
            fragments.setdefault(fragment["source-layer"], []).append(fragment)
    legend: dict[str, dict[str, str]] = {}
    for line in style["metadata"]["lapis:legend"]:
        legend.setdefault(line["group"], {}).setdefault(line["color"].lower(), line["label"])
    background = next(f["paint"]["background-color"] for f in style["layers"] if f["type"] == "background")
    root = element("qgis", {"projectname": style["name"], "version": QGIS_VERSION}, [
        element("homePath", {"path": ""}), element("title", text=style["name"]),
        element("projectCrs", children=[spatial_ref(PROJECT_CRS)]), _tree(layers), _canvas(),
        element("projectlayers", children=[
            _map_layer(q, fragments.get(q.layer.id, []), legend.get(q.layer.id, {}), lang) for q in layers]),
        element("layerorder", children=[element("layer", {"id": q.id}) for q in reversed(layers)]),
        _properties(background),
    ])
    ET.indent(root)
    return root


def write_project(path: Path, source: Source, url: str, *, lang: str = "vi", detail: bool = False,
                  registry: Registry = LAYERS) -> list[QgisLayer]:
    """Write the project to `path`: a `.qgz` (zipped) or a plain `.qgs`. Returns its layers, bottom to top."""
    layers = qgis_layers(source, url, lang=lang, detail=detail, registry=registry)
    document = project_document(layers, lang=lang, registry=registry)
    text = (DOCTYPE + ET.tostring(document, encoding="unicode")).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".qgz":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{path.stem}.qgs", text)
    else:
        path.write_bytes(text)
    return layers
