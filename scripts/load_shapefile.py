"""Load a shapefile (or any file `lapis load` reads) into a layer: a thin wrapper over `lapis load`.

    python scripts/load_shapefile.py PATH --layer parcels [--crs EPSG:9210] [--encoding auto] ...
"""

from __future__ import annotations

import sys

from app.cli import cli

if __name__ == "__main__":
    sys.exit(cli(["load", *sys.argv[1:]]))
