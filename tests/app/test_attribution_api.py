"""The district boundaries' licence travels with them: collection metadata, TileJSON and the style's credit."""

from __future__ import annotations

from fastapi.testclient import TestClient

LICENCE = "https://creativecommons.org/licenses/by/3.0/igo/"


def test_admin_units_collection_names_its_source_and_licence(client: TestClient) -> None:
    body = client.get("/collections/admin_units").json()
    assert "OCHA ROAP" in body["attribution"] and "CC BY 3.0 IGO" in body["attribution"]
    assert {"rel": "license", "href": LICENCE} in [{k: link[k] for k in ("rel", "href")} for link in body["links"]]
    zones = client.get("/collections/zones").json()
    assert "attribution" not in zones and all(link["rel"] != "license" for link in zones["links"])


def test_tilejson_and_style_credit_the_boundaries(client: TestClient) -> None:
    composite = client.get("/tiles/WebMercatorQuad/tilejson.json").json()["attribution"]
    assert composite.startswith("Quy hoạch tỉnh Long An") and "OCHA ROAP" in composite
    assert "OCHA" not in client.get("/collections/axes/tiles/WebMercatorQuad/tilejson.json").json()["attribution"]
    credit = client.get("/styles/plan.json").json()["sources"]["plan"]["attribution"]
    assert "OCHA ROAP" in credit and f'<a href="{LICENCE}">' in credit
