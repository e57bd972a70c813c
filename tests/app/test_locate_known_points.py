"""Known points answer with the right district, region and centre over HTTP (`GET /locate`)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.data.bundle import KNOWN_POINTS, label_points

CASES = KNOWN_POINTS + label_points()


@pytest.mark.parametrize(("what", "point", "district", "region", "centre"), CASES, ids=[c[0] for c in CASES])
def test_locate_answers(client: TestClient, what: str, point: tuple[float, float], district: str | None,
                        region: str | None, centre: bool) -> None:
    response = client.get("/locate", params={"lon": point[0], "lat": point[1]})
    assert response.status_code == 200, response.text
    body = response.json()
    if district is None:
        assert body["admin_units"] == [] and body["zones"] == [], what
        return
    assert [u["code"] for u in body["admin_units"]] == [district, "80"], what
    assert [z["code"] for z in body["zones"] if z["kind"] == "region"] == [region], what
    assert [z["code"] for z in body["zones"] if z["kind"] == "centre"] == (["C1"] if centre else []), what
    names = {u["code"]: u["name_vi"] for u in body["admin_units"]}
    assert names["80"] == "Long An"
