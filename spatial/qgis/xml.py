"""The pieces of QGIS project XML that symbols, labels and layers share, written as QGIS 3.22 writes them."""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from collections.abc import Mapping

# QGIS's data-defined property type for an expression (QgsProperty::ExpressionBasedProperty)
EXPRESSION_PROPERTY = 3


def element(tag: str, attributes: Mapping[str, object] | None = None, children: list[ET.Element] | None = None,
            *, text: str | None = None) -> ET.Element:
    node = ET.Element(tag, {k: str(v) for k, v in (attributes or {}).items()})
    if text is not None:
        node.text = text
    node.extend(children or [])
    return node


def option_map(values: Mapping[str, str], name: str | None = None) -> ET.Element:
    """`<Option type="Map">` of strings (QGIS 3.22 writes symbol layer properties this way)."""
    node = element("Option", {"type": "Map", **({"name": name} if name else {})})
    for key, value in values.items():
        node.append(element("Option", {"type": "QString", "name": key, "value": value}))
    return node


def data_defined(expressions: Mapping[str, str], tag: str = "data_defined_properties") -> ET.Element:
    """Data-defined properties: QGIS property name (`outlineWidth`, `fillColor` …) -> expression."""
    properties = element("Option", {"type": "Map", "name": "properties"})
    for key, text in expressions.items():
        properties.append(element("Option", {"type": "Map", "name": key}, children=[
            element("Option", {"type": "bool", "name": "active", "value": "true"}),
            element("Option", {"type": "QString", "name": "expression", "value": text}),
            element("Option", {"type": "int", "name": "type", "value": EXPRESSION_PROPERTY}),
        ]))
    collection = element("Option", {"type": "Map"}, children=[
        element("Option", {"type": "QString", "name": "name", "value": ""}),
        properties,
        element("Option", {"type": "QString", "name": "type", "value": "collection"}),
    ])
    return element(tag, children=[collection])


def symbol_layer(layer_class: str, properties: Mapping[str, str], expressions: Mapping[str, str] | None = None,
                 level: int = 0) -> ET.Element:
    """One symbol layer (`SimpleFill`, `SimpleLine`, `SimpleMarker` …): its properties both as `<Option>` (read by
    QGIS 3.22 and later) and as `<prop>` (read by older releases). With symbol levels on, a renderer draws every
    feature's level 0, then every feature's level 1 …"""
    node = element("layer", {"class": layer_class, "enabled": 1, "locked": 0, "pass": level})
    node.append(option_map(properties))
    node.extend(element("prop", {"k": key, "v": value}) for key, value in properties.items())
    node.append(data_defined(expressions or {}))
    return node


def symbol(symbol_type: str, name: str, layers: list[ET.Element]) -> ET.Element:
    """A `fill`, `line` or `marker` symbol made of symbol layers, drawn bottom to top."""
    node = element("symbol", {"type": symbol_type, "name": name, "alpha": 1, "clip_to_extent": 1, "force_rhr": 0})
    node.append(data_defined({}))
    node.extend(layers)
    return node


def spatial_ref(authid: str) -> ET.Element:
    """A CRS as QGIS writes it. QGIS 3.22 does not take an authority id alone (the layer's CRS is then invalid and
    nothing is drawn): it needs its internal id, or the WKT / PROJ definition, given here by PROJ through pyproj."""
    from pyproj import CRS

    crs = CRS.from_user_input(authid)
    with warnings.catch_warnings():  # "You will likely lose important projection information": not for these CRSs
        warnings.simplefilter("ignore", UserWarning)
        proj4 = crs.to_proj4()
    return element("spatialrefsys", children=[
        element("wkt", text=crs.to_wkt()), element("proj4", text=proj4), element("srid", text=str(crs.to_epsg())),
        element("authid", text=authid), element("description", text=crs.name),
        element("geographicflag", text="true" if crs.is_geographic else "false")])
