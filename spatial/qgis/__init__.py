"""QGIS projects of the plan, written as XML without QGIS: `project` assembles them, `symbols` and `labels` turn the
web map's MapLibre style into QGIS renderers and labeling, `expressions` its expressions, colours and zooms."""
