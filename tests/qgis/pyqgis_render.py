"""Open LAPIS in PyQGIS, render it headless and report what QGIS saw, as JSON on stdout.

Runs in Debian's system Python (/usr/bin/python3, where python3-qgis lives), not the project's venv, so it imports
nothing from LAPIS. The tests start it with QT_QPA_PLATFORM=offscreen and a throwaway HOME (QGIS profile).

    pyqgis_render.py OUT.png MINLON MINLAT MAXLON MAXLAT oapif URL TYPENAME
    pyqgis_render.py OUT.png MINLON MINLAT MAXLON MAXLAT vectortile URL      (tiles + /styles/plan.json)
    pyqgis_render.py OUT.png MINLON MINLAT MAXLON MAXLAT postgis CONNINFO TABLE
    pyqgis_render.py OUT.png MINLON MINLAT MAXLON MAXLAT project PROJECT.qgz
"""

from __future__ import annotations

import json
import sys
import urllib.request

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsDataSourceUri,
    QgsExpressionContext,
    QgsExpressionContextUtils,
    QgsMapBoxGlStyleConversionContext,
    QgsMapBoxGlStyleConverter,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsPalLayerSettings,
    QgsProject,
    QgsRectangle,
    QgsSymbolLayer,
    QgsTextBufferSettings,
    QgsTextFormat,
    QgsVectorLayer,
    QgsVectorLayerSimpleLabeling,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor, QFont, QImage

SIZE = QSize(800, 600)
BACKGROUND = QColor("#f4f1ea")
WEB_MERCATOR = QgsCoordinateReferenceSystem("EPSG:3857")


def vietnamese_labels(layer: QgsVectorLayer) -> None:
    """Label a layer with its `name_vi`, DejaVu Sans (which has every Vietnamese letter), with a halo."""
    settings = QgsPalLayerSettings()
    settings.fieldName = "name_vi"
    text = QgsTextFormat()
    text.setFont(QFont("DejaVu Sans"))
    text.setSize(11)
    buffer = QgsTextBufferSettings()
    buffer.setEnabled(True)
    text.setBuffer(buffer)
    settings.setFormat(text)
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)


def open_oapif(url: str, typename: str) -> tuple[list, dict]:
    layer = QgsVectorLayer(f"url='{url}' typename='{typename}'", typename, "OAPIF")
    vietnamese_labels(layer)
    return [layer], {}


def open_vectortile(url: str) -> tuple[list, dict]:
    tiles = f"{url}/tiles/WebMercatorQuad/%7Bz%7D/%7By%7D/%7Bx%7D"
    layer = QgsVectorTileLayer(f"type=xyz&url={tiles}&zmin=0&zmax=14", "plan")
    with urllib.request.urlopen(f"{url}/styles/plan.json", timeout=30) as response:
        style = json.load(response)
    converter = QgsMapBoxGlStyleConverter()
    context = QgsMapBoxGlStyleConversionContext()
    converted = converter.convert(style, context) == QgsMapBoxGlStyleConverter.Success
    layer.setRenderer(converter.renderer())
    layer.setLabeling(converter.labeling())
    styles = [{"name": s.styleName(), "layer": s.layerName(), "filter": s.filterExpression(),
               "colour": colour_of(s.symbol())} for s in converter.renderer().styles()]
    labels = [{"name": s.styleName(), "field": s.labelSettings().fieldName, "filter": s.filterExpression()}
              for s in converter.labeling().styles()]
    return [layer], {"converted": converted, "warnings": context.warnings(), "styles": styles, "label_styles": labels,
                     "style_layers": [f["id"] for f in style["layers"]]}


def colour_of(symbol) -> str | None:
    """A symbol's colour: its data-defined expression when it has one."""
    if symbol is None:
        return None
    layer = symbol.symbolLayer(0)
    for key in (QgsSymbolLayer.PropertyFillColor, QgsSymbolLayer.PropertyStrokeColor):
        prop = layer.dataDefinedProperties().property(key)
        if prop.isActive():
            return prop.expressionString()
    return symbol.color().name()


def open_postgis(conninfo: str, table: str) -> tuple[list, dict]:
    uri = QgsDataSourceUri(conninfo)
    uri.setDataSource("public", table, "geom", "", "id")
    layer = QgsVectorLayer(uri.uri(False), table, "postgres")
    vietnamese_labels(layer)
    return [layer], {}


def open_project(path: str) -> tuple[list, dict]:
    project = QgsProject.instance()
    read = project.read(path)
    layers = [node.layer() for node in project.layerTreeRoot().findLayers()]  # top first
    info = {"read": read, "title": project.title(), "crs": project.crs().authid(),
            "tree": [node.name() for node in project.layerTreeRoot().children()]}
    for layer in layers:
        renderer = layer.renderer() if layer.isValid() else None
        info.setdefault("details", {})[layer.id()] = {
            "renderer": renderer.type() if renderer else None,
            "rules": [[r.label(), r.filterExpression(), r.symbol().color().name() if r.symbol() else None]
                      for r in renderer.rootRule().descendants()] if renderer and renderer.type() == "RuleRenderer"
            else [],
            "labels": [[r.description(), r.settings().fieldName] for r in layer.labeling().rootRule().descendants()
                       if r.settings()] if layer.labeling() and layer.labeling().type() == "rule-based" else [],
        }
    return layers, info


def render(layers: list, extent: QgsRectangle, labels: bool) -> tuple[QImage, list[str]]:
    for layer in layers:
        if isinstance(layer, QgsVectorTileLayer):
            if not labels:
                layer.setLabeling(None)
        else:
            layer.setLabelsEnabled(labels)
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(WEB_MERCATOR)
    settings.setExtent(extent)
    settings.setOutputSize(SIZE)
    settings.setBackgroundColor(BACKGROUND)
    context = QgsExpressionContext()  # what QGIS's map canvas gives expressions (@map_scale …)
    context.appendScopes(QgsExpressionContextUtils.globalProjectLayerScopes(None))
    context.appendScope(QgsExpressionContextUtils.mapSettingsScope(settings))
    settings.setExpressionContext(context)
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    texts = [label.labelText for label in job.takeLabelingResults().allLabels()]
    return job.renderedImage().convertToFormat(QImage.Format_ARGB32), texts


def errors(layer) -> str:
    """Why a layer is invalid (QgsError.summary() crashes PyQGIS 3.22 on an empty error)."""
    return "; ".join(message.message() for message in layer.error().messageList())


def pixels(image: QImage) -> memoryview:
    return memoryview(image.constBits().asstring(image.sizeInBytes())).cast("I")


def main() -> None:
    out, bbox, mode, args = sys.argv[1], [float(v) for v in sys.argv[2:6]], sys.argv[6], sys.argv[7:]
    app = QgsApplication([], False)
    app.initQgis()
    log: list[str] = []
    QgsApplication.messageLog().messageReceived.connect(
        lambda message, tag, level: log.append(f"{tag}: {message}") if level >= Qgis.Warning else None)
    opener = {"oapif": open_oapif, "vectortile": open_vectortile, "postgis": open_postgis, "project": open_project}
    layers, info = opener[mode](*args)
    to_mercator = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), WEB_MERCATOR, QgsProject.instance())
    extent = to_mercator.transformBoundingBox(QgsRectangle(*bbox))
    report = {"layers": [{"id": layer.id(), "name": layer.name(), "valid": layer.isValid(),
                          "provider": layer.providerType(), "error": errors(layer),
                          "features": layer.featureCount() if isinstance(layer, QgsVectorLayer) else None}
                         for layer in layers], **info}
    if all(layer.isValid() for layer in layers):
        with_labels, texts = render(layers, extent, True)
        without_labels, _ = render(layers, extent, False)
        with_labels.save(out)
        background = BACKGROUND.rgba()
        labelled, plain = pixels(with_labels), pixels(without_labels)
        report.update(labels=texts, drawn=sum(p != background for p in plain),
                      label_pixels=sum(a != b for a, b in zip(labelled, plain, strict=True)),
                      colours=len(set(labelled)))
    report["log"] = log
    print(json.dumps(report, ensure_ascii=False))
    QgsProject.instance().clear()
    del layers
    app.exitQgis()


if __name__ == "__main__":
    main()
