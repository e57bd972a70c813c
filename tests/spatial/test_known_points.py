"""Known points answer with the right district, region and centre through the real database
(`spatial.queries.locate.locate_point` against the seeded PostGIS)."""

from __future__ import annotations

import orjson
import pytest

from spatial.queries import locate
from tests.data.bundle import KNOWN_POINTS, label_points
from tests.helpers import run

CASES = KNOWN_POINTS + label_points()


def test_the_cases_cover_every_district_and_region() -> None:
    assert {c[2] for c in CASES} >= {str(c) for c in range(794, 809)}
    assert {c[3] for c in CASES} >= {"R1", "R2", "R3"}


@pytest.mark.parametrize(("what", "point", "district", "region", "centre"), CASES, ids=[c[0] for c in CASES])
def test_locate_point_answers(db_url: str, what: str, point: tuple[float, float], district: str | None,
                              region: str | None, centre: bool) -> None:
    body = orjson.loads(run(db_url, lambda c: locate.locate_point(c, *point)))
    units = {u["level"]: u["code"] for u in body["admin_units"]}
    if district is None:
        assert body["admin_units"] == [] and body["zones"] == [], what
        return
    assert units == {"district": district, "province": "80"}, what
    assert [z["code"] for z in body["zones"] if z["kind"] == "region"] == [region], what
    assert [z["code"] for z in body["zones"] if z["kind"] == "centre"] == (["C1"] if centre else []), what
