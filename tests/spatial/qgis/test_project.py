"""The QGIS project file as written (no QGIS needed): layers, sources, the web map's colours, Vietnamese labels.
That QGIS 3.22 opens and draws it is tested in tests/qgis with PyQGIS."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from spatial.layers import LAYERS
from spatial.qgis.project import write_project
from spatial.registry import Column, Layer, StyleSpec, TileSpec

SERVER = "http://127.0.0.1:8000"
DATABASE = "postgresql://lapis:s3cret@%2Fsrv%2Flapis%2Frun:5433/lapis"
PLAN_LAYERS = ["lapis_zones_polygon", "lapis_corridors_polygon", "lapis_admin_units_polygon", "lapis_axes_linestring",
               "lapis_projects_polygon", "lapis_projects_linestring", "lapis_projects_point"]


def _read(path: Path) -> ET.Element:
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == [f"{path.stem}.qgs"]
        text = archive.read(archive.namelist()[0]).decode("utf-8")
    assert text.startswith("<!DOCTYPE qgis")
    return ET.fromstring(text)


def _layers(root: ET.Element) -> dict[str, ET.Element]:
    return {node.findtext("id"): node for node in root.iter("maplayer")}


def _symbol_colours(layer: ET.Element) -> dict[str, str]:
    """Rule label -> the colour its symbol draws with."""
    symbols = {s.get("name"): s for s in layer.find("renderer-v2/symbols")}
    colours = {}
    for rule in layer.iter("rule"):
        if rule.get("symbol") is not None:
            props = {p.get("k"): p.get("v") for p in symbols[rule.get("symbol")].iter("prop")}
            colours[rule.get("label")] = props.get("color") or props.get("line_color")
    return colours


@pytest.fixture(scope="module")
def oapif(tmp_path_factory: pytest.TempPathFactory) -> ET.Element:
    path = tmp_path_factory.mktemp("qgis") / "plan.qgz"
    write_project(path, "oapif", SERVER + "/")
    return _read(path)


def test_the_plan_layers_in_the_web_maps_order(oapif: ET.Element) -> None:
    assert list(_layers(oapif)) == PLAN_LAYERS  # bottom to top, as the plan map draws them
    assert [n.get("id") for n in oapif.find("layerorder")] == PLAN_LAYERS[::-1]
    tree = oapif.find("layer-tree-group")
    assert [n.get("name") for n in tree] == ["Dự án", "Trục động lực", "Đơn vị hành chính", "Hành lang kinh tế",
                                             "Vùng và phân khu"]
    assert [n.get("name") for n in tree[0]] == ["Dự án — điểm", "Dự án — tuyến", "Dự án — vùng"]
    assert oapif.findtext("title") == "Quy hoạch tỉnh Long An"
    assert oapif.find("projectCrs/spatialrefsys/authid").text == "EPSG:3857"


def test_oapif_sources(oapif: ET.Element) -> None:
    layers = _layers(oapif)
    zones = layers["lapis_zones_polygon"]
    assert zones.findtext("provider") == "OAPIF"
    assert zones.findtext("datasource") == ("pagingEnabled='true' restrictToRequestBBOX='0' typename='zones' "
                                            f"url='{SERVER}'")
    # a layer of several geometry kinds: GDAL's OAPIF driver, one QGIS layer per kind
    lines = layers["lapis_projects_linestring"]
    assert lines.findtext("provider") == "ogr"
    assert lines.findtext("datasource") == f"OAPIF:{SERVER}|layername=projects|geometrytype=LineString"
    assert lines.get("geometry") == "Line"
    assert zones.find("srs/spatialrefsys/authid").text == "EPSG:4326"
    assert zones.find("srs/spatialrefsys/proj4").text.startswith("+proj=longlat")


def test_postgis_sources_in_libpq_form_without_the_password(tmp_path: Path) -> None:
    path = tmp_path / "plan.qgz"
    write_project(path, "postgis", DATABASE)
    text = zipfile.ZipFile(path).read("plan.qgs").decode()
    assert "s3cret" not in text
    layers = _layers(_read(path))
    assert list(layers) == PLAN_LAYERS
    assert layers["lapis_zones_polygon"].findtext("datasource") == (
        "host=/srv/lapis/run port=5433 dbname=lapis user=lapis key='id' srid=4326 type=MultiPolygon "
        "checkPrimaryKeyUnicity='0' table=\"public\".\"zones\" (geom)")
    assert "type=MultiPoint" in layers["lapis_projects_point"].findtext("datasource")
    assert {node.findtext("provider") for node in layers.values()} == {"postgres"}


def test_drawn_in_the_web_maps_colours(oapif: ET.Element) -> None:
    layers = _layers(oapif)
    zones = _symbol_colours(layers["lapis_zones_polygon"])
    assert zones["Vùng đô thị và công nghiệp"] == "232,168,124,115"  # R1: #e8a87c at 45 %, the legend's label
    assert zones["Trung tâm"] == "215,38,61,102"  # the centre: #d7263d at 40 %
    roads = _symbol_colours(layers["lapis_projects_linestring"])
    assert roads["Cao tốc"] == "192,57,43,255"  # expressways #c0392b
    renderer = layers["lapis_zones_polygon"].find("renderer-v2")
    assert renderer.get("type") == "RuleRenderer" and renderer.get("symbollevels") == "1"
    region = next(r for r in renderer.iter("rule") if r.get("label") == "zones-region-fill")
    assert region.get("filter") == "(\"kind\" IS 'region')"
    assert [c.get("filter") for c in region] == ["\"code\" = 'R1'", "\"code\" = 'R2'", "\"code\" = 'R3'", "ELSE"]


def test_zoom_dependent_widths_and_dashes(oapif: ET.Element) -> None:
    admin = _layers(oapif)["lapis_admin_units_polygon"]
    district = next(s for s in admin.iter("symbol") if any(p.get("v") == "1" and p.get("k") == "use_custom_dash"
                                                            for p in s.iter("prop")))
    props = {p.get("k"): p.get("v") for p in district.iter("prop")}
    assert props["customdash"] == "4.8;2.4"  # [4, 2] line widths at zoom 10
    expressions = [o.get("value") for o in district.iter("Option") if o.get("name") == "expression"]
    assert len(expressions) == 1 and expressions[0].startswith("scale_linear(log(2, ")


def test_labelled_in_vietnamese_or_english(tmp_path: Path, oapif: ET.Element) -> None:
    def label_fields(root: ET.Element) -> dict[str, set[str]]:
        return {layer_id: {s.get("fieldName") for s in node.iter("text-style")}
                for layer_id, node in _layers(root).items()}

    assert label_fields(oapif)["lapis_zones_polygon"] == {"name_vi"}
    assert label_fields(oapif)["lapis_axes_linestring"] == {"name_vi"}
    zones = _layers(oapif)["lapis_zones_polygon"]
    assert zones.get("labelsEnabled") == "1"
    label = zones.find("labeling/rules/rule")
    assert label.get("filter") == "(\"kind\" IN ('region', 'centre'))" and int(label.get("scalemindenom")) > 100_000
    assert label.find("settings/text-style").get("fontFamily") == "DejaVu Sans"
    path = tmp_path / "plan-en.qgz"
    write_project(path, "oapif", SERVER, lang="en")
    english = _read(path)
    assert label_fields(english)["lapis_zones_polygon"] == {"coalesce(\"name_en\", \"name_vi\")"}
    assert _layers(english)["lapis_zones_polygon"].findtext("layername") == "Zones"
    assert _symbol_colours(_layers(english)["lapis_zones_polygon"])["Urban and industrial region"]


def test_parcels_only_when_asked_and_only_zoomed_in(tmp_path: Path) -> None:
    path = tmp_path / "detail.qgz"
    layers = write_project(path, "oapif", SERVER, detail=True)
    assert "lapis_parcels_polygon" in [q.id for q in layers]
    parcels = _layers(_read(path))["lapis_parcels_polygon"]
    assert parcels.get("hasScaleBasedVisibilityFlag") == "1" and 30_000 < int(parcels.get("minScale")) < 40_000
    assert "restrictToRequestBBOX='1'" in parcels.findtext("datasource")  # asked for what is in view only


def test_another_registry(tmp_path: Path) -> None:
    wells = Layer("wells", "Giếng", "Wells", "Wells", "Point", (Column("depth_m", "numeric", "number"),),
                  tiles=TileSpec(("code", "name_vi")), style=StyleSpec("#1f77b4"))
    path = tmp_path / "wells.qgs"
    write_project(path, "oapif", SERVER, registry=LAYERS.with_layers(wells))
    root = ET.fromstring(path.read_bytes().split(b"\n", 1)[1])
    well = _layers(root)["lapis_wells_point"]
    assert well.get("geometry") == "Point"
    assert _symbol_colours(well) == {"Giếng": "31,119,180,255"}  # its legend line: the layer title
