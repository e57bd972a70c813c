"""The web map's labels of a layer (its MapLibre `symbol` layers) as QGIS rule-based labeling: the same text
(Vietnamese names, or English ones falling back to Vietnamese), font, size, colour, halo, filter and zoom range."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from spatial.qgis.expressions import Unsupported, expression, fold, qgis_colour, scale_of_zoom, value_at
from spatial.qgis.symbols import REFERENCE_ZOOM
from spatial.qgis.xml import element

# QgsPalLayerSettings placements and line placement flags
OVER_POINT, CURVED, HORIZONTAL, PERIMETER_CURVED = 1, 3, 4, 7
ON_LINE = 1
MULTILINE_CENTRE = 1
QT_NORMAL, QT_BOLD = 50, 75
CHARACTERS_PER_EM = 2  # MapLibre wraps at a width in ems, QGIS after a number of characters


def _text(layout: Mapping[str, Any]) -> dict[str, object]:
    text = layout.get("text-field")
    if isinstance(text, list) and text[:1] == ["get"]:
        return {"fieldName": text[1], "isExpression": 0}
    if text is None:
        raise Unsupported("a label layer without text-field")
    return {"fieldName": expression(text), "isExpression": 1}


def _font(layout: Mapping[str, Any]) -> dict[str, object]:
    fonts = layout.get("text-font") or ["DejaVu Sans"]
    first = str(fonts[0])
    bold = first.endswith(" Bold")
    size = value_at(layout.get("text-size", 16), REFERENCE_ZOOM)
    if not isinstance(size, int | float):
        raise Unsupported(f"text-size {layout['text-size']!r}: a number or one that changes with the zoom only")
    return {"fontFamily": first.removesuffix(" Bold"), "fontWeight": QT_BOLD if bold else QT_NORMAL,
            "namedStyle": "Bold" if bold else "", "fontSize": f"{size:g}", "fontSizeUnit": "Pixel"}


def _placement(layout: Mapping[str, Any], kind: str, priority: int) -> dict[str, object]:
    along_line = layout.get("symbol-placement", "point") != "point"
    if kind == "LineString":
        placement = CURVED if along_line else HORIZONTAL
    elif kind == "Polygon":
        placement = PERIMETER_CURVED if along_line else OVER_POINT
    else:
        placement = OVER_POINT
    return {"placement": placement, "placementFlags": ON_LINE, "centroidInside": 1, "centroidWhole": 0,
            "quadOffset": 4, "dist": 0, "distUnits": "Pixel", "priority": priority, "repeatDistance": 0,
            "maxCurvedCharAngleIn": 25, "maxCurvedCharAngleOut": -25, "preserveRotation": 1,
            "polygonPlacementFlags": 2, "overrunDistance": 0, "lineAnchorPercent": 0.5, "offsetType": 0,
            "xOffset": 0, "yOffset": 0, "rotationAngle": 0, "fitInPolygonOnly": 0}


def _settings(fragment: Mapping[str, Any], kind: str) -> ET.Element:
    layout, paint = fragment.get("layout", {}), fragment.get("paint", {})
    halo = value_at(paint.get("text-halo-width", 0), REFERENCE_ZOOM)
    style = element("text-style", {
        **_text(layout), **_font(layout), "textColor": qgis_colour(paint.get("text-color", "#000000")),
        "textOpacity": 1, "multilineHeight": 1, "blendMode": 0, "previewBkgrdColor": "255,255,255,255",
        "allowHtml": 0, "capitalization": 0, "fontLetterSpacing": 0, "fontWordSpacing": 0, "fontKerning": 1,
    }, children=[element("text-buffer", {
        "bufferDraw": 1 if halo else 0, "bufferSize": f"{halo or 0:g}", "bufferSizeUnits": "Pixel",
        "bufferColor": qgis_colour(paint.get("text-halo-color", "rgba(0,0,0,0)")), "bufferOpacity": 1,
        "bufferNoFill": 1, "bufferJoinStyle": 128, "bufferBlendMode": 0})])
    wrap = value_at(layout.get("text-max-width", 10), REFERENCE_ZOOM) if kind != "LineString" else 0
    text_format = element("text-format", {
        "wrapChar": "", "autoWrapLength": round(CHARACTERS_PER_EM * (wrap or 0)), "useMaxLineLengthForAutoWrap": 1,
        "multilineAlign": MULTILINE_CENTRE, "formatNumbers": 0, "decimals": 3, "plussign": 0,
        "addDirectionSymbol": 0})
    rendering = element("rendering", {
        "drawLabels": 1, "scaleVisibility": 0, "fontLimitPixelSize": 0, "fontMinPixelSize": 0,
        "fontMaxPixelSize": 10000, "obstacle": 1, "obstacleFactor": 1, "obstacleType": 1, "upsidedownLabels": 0,
        "displayAll": 0, "limitNumLabels": 0, "maxNumLabels": 2000, "mergeLines": 0, "labelPerPart": 0,
        "minFeatureSize": 0, "zIndex": 0, "unplacedVisibility": 0})
    return element("settings", {"calloutType": "simple"},
                   [style, text_format, element("placement", _placement(layout, kind, _priority(fragment))),
                    rendering])


def _priority(fragment: Mapping[str, Any]) -> int:
    """QGIS label priority (0–10): an overview label — one the style hides past a zoom, like the regions' names —
    wins over the detail labels it shares the small scales with (district names), as it is the point of that view."""
    return 8 if fragment.get("maxzoom") is not None else 5


def label_rule(fragment: Mapping[str, Any], kind: str) -> ET.Element | None:
    """The labeling rule for `fragment` (a MapLibre symbol layer) on a layer of one geometry kind (None: it labels
    nothing there)."""
    condition = fold(fragment.get("filter", True), kind)
    if condition is False:
        return None
    attributes: dict[str, object] = {"description": fragment["id"]}
    if condition is not True:
        attributes["filter"] = expression(condition)
    if fragment.get("minzoom"):
        attributes["scalemaxdenom"] = round(scale_of_zoom(fragment["minzoom"]))
    if fragment.get("maxzoom") is not None:
        attributes["scalemindenom"] = round(scale_of_zoom(fragment["maxzoom"]))
    return element("rule", attributes, children=[_settings(fragment, kind)])


def labeling(rules: list[ET.Element]) -> ET.Element:
    return element("labeling", {"type": "rule-based"}, [element("rules", children=rules)])
