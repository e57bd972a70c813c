"""Projects by development axis and status, with drawn and published length and investment: `projects_by_axis.csv`
(axis × status × category) and `.png` (length and investment per axis and status) in --out.

    python scripts/analysis/projects_by_axis.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from spatial.analysis import charts, projects_summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("analysis_out"))
    out = parser.parse_args().out
    table = projects_summary(by=("axis", "status", "category"))
    for path in charts.save(table, charts.projects_chart(projects_summary(by=("axis", "status"))), out,
                            "projects_by_axis"):
        print(path)


if __name__ == "__main__":
    main()
