"""Distance of each project to its nearest development axis (metres, on the ellipsoid): `project_axis_distance.csv`
and `.png` in --out.

    python scripts/analysis/project_axis_distance.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from spatial.analysis import charts, project_axis_distance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("analysis_out"))
    table = project_axis_distance()
    for path in charts.save(table, charts.axis_distance_chart(table), parser.parse_args().out, "project_axis_distance"):
        print(path)


if __name__ == "__main__":
    main()
