#!/usr/bin/env python3
"""Build the bundled plan data for LAPIS (Long An provincial master plan 2021–2030) into data/geojson/.

Deterministic and offline (shapely 2 + pyproj). Writes RFC 7946 FeatureCollections (EPSG:4326, lon/lat,
7 decimals, UTF-8, NFC): plans, admin_units, zones, corridors, axes, projects.

- Admin units are the real pre-2025 districts: the bundled OCHA COD-AB 2020 file
  (data/opendata/longan_districts_ochacod2020.geojson, CC BY 3.0 IGO, via geoBoundaries; see NOTICE),
  checked by SHA-256; the province is their dissolve.
- Regions are unions of those districts as the brief assigns them (Thủ Thừa and Tân Trụ split by straight
  lines [I]); the centre is Tân An.
- Corridors, axes and projects are drawn on the real districts from the research brief's facts and
  approximate points (scripts/plan_data/routes.py and sites.py say how each is placed); statuses, years and
  figures are the brief's or unknown (scripts/plan_data/facts.py, project_facts.py).

Usage:  python scripts/build_plan_data.py [--out data/geojson]
Prints a JSON summary: drawn next to published areas and lengths.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plan_data.build import build  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "geojson")
    args = ap.parse_args()
    print(json.dumps(build(args.out), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
