"""Regions' area by district: `region_area_by_district.csv` and `.png` in --out (default: analysis_out/).

    python scripts/analysis/region_area_by_district.py [--out DIR]     (the database: DATABASE_URL or the embedded one)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from spatial.analysis import charts, region_area_by_district


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("analysis_out"))
    table = region_area_by_district()
    for path in charts.save(table, charts.region_area_chart(table), parser.parse_args().out, "region_area_by_district"):
        print(path)


if __name__ == "__main__":
    main()
