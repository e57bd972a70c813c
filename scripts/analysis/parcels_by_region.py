"""Parcels per region and land use: `parcels_by_region.csv`, `.png` (stacked bars) and `parcels_by_region_map.png`
in --out. --parcels: a `lapis classify` output folder or any parcels file (default: the parcels layer).

    python scripts/analysis/parcels_by_region.py [--parcels PATH] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from spatial.analysis import charts, parcels_by_region, read_layer
from spatial.analysis.layers import resolve_url
from spatial.analysis.report import MAP_SAMPLE, classified_parcels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("analysis_out"))
    args = parser.parse_args()
    url = resolve_url(None)
    parcels = classified_parcels(args.parcels, url)
    if parcels is None:
        raise SystemExit("no parcels: load some (lapis load FILE --layer parcels) or pass --parcels")
    table = parcels_by_region(parcels)
    for path in charts.save(table, charts.parcels_chart(table), args.out, "parcels_by_region"):
        print(path)
    regions = read_layer("zones", where="kind = 'region'", url=url)
    image = args.out / "parcels_by_region_map.png"
    image.write_bytes(charts.png(charts.parcels_map(regions, parcels, MAP_SAMPLE)))
    print(image)


if __name__ == "__main__":
    main()
