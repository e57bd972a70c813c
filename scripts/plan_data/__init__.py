"""The build of LAPIS's bundled plan data (data/geojson/), run by scripts/build_plan_data.py.

admin.py reads the bundled OCHA district file; frame.py holds the map everything is drawn on; routes.py and
sites.py draw the plan's roads and places on it; facts.py and project_facts.py hold the published facts;
features.py turns both into GeoJSON features; build.py writes the layers and returns a summary.
"""
