"""LAPIS in QGIS: Debian 12's QGIS 3.22 (PyQGIS, headless) against a live LAPIS server and its database.

QGIS opens LAPIS as OGC API – Features, as vector tiles with the style converted from /styles/plan.json, as PostGIS
with the connection `lapis db status --format libpq` prints, and the project `lapis qgis project` writes; each is
rendered to a PNG (in test-artifacts/) that must show the plan and its Vietnamese labels. PyQGIS lives in the system
Python, so each case runs tests/qgis/pyqgis_render.py there in a subprocess. QGIS is installed by the set-up
(scripts/install_system_deps.sh): without it these tests fail, they do not skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from spatial.embedded import EmbeddedCluster
from spatial.io.crs import PROVINCE_BBOX
from spatial.settings import PROJECT_ROOT

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("pyqgis_render.py")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
PIXELS = 800 * 600
Render = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def qgis_env(tmp_path_factory: pytest.TempPathFactory, cluster: EmbeddedCluster) -> dict[str, str]:
    """The environment PyQGIS runs in: offscreen, a throwaway HOME and QGIS profile; the database's passwords in
    the test cluster's password file (what LAPIS prints leaves them out, as a user's QGIS finds them in theirs)."""
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.fail("PyQGIS is not installed in the system Python (Debian packages qgis and python3-qgis, which "
                    f"`make setup` / scripts/install_system_deps.sh install):\n{probe.stderr[-800:]}")
    home = tmp_path_factory.mktemp("qgis-home")
    (home / "run").mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return {**env, "QT_QPA_PLATFORM": "offscreen", "HOME": str(home), "XDG_RUNTIME_DIR": str(home / "run"),
            "QGIS_CUSTOM_CONFIG_PATH": str(home / "profile"), "PGPASSFILE": str(cluster.passfile)}


@pytest.fixture(scope="module")
def render(qgis_env: dict[str, str]) -> Render:
    """Open something in PyQGIS, render the province to test-artifacts/<png> (with and without labels): the
    script's report."""
    ARTIFACTS.mkdir(exist_ok=True)

    def _render(png: str, *args: str) -> dict[str, Any]:
        result = subprocess.run([SYSTEM_PYTHON, str(SCRIPT), str(ARTIFACTS / png), *map(str, PROVINCE_BBOX), *args],
                                capture_output=True, text=True, env=qgis_env, timeout=180, check=False)
        assert result.returncode == 0, result.stderr[-4000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    return _render


def lapis(args: list[str], **env: str) -> str:
    result = subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=120,
                            env={**os.environ, **env}, check=False, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def assert_drawn_with_vietnamese_labels(report: dict[str, Any], names: set[str], log: list[str] | None = None) -> None:
    """Every layer valid; the plan drawn (not the background alone); labels drawn, all of them names of the plan
    (`names`), several in Vietnamese with its diacritics; QGIS logged no warning (but `log`)."""
    assert report["layers"] and all(layer["valid"] for layer in report["layers"]), report["layers"]
    assert report["drawn"] > PIXELS // 10, report["drawn"]  # the province covers about a third of the view
    assert report["colours"] > 50
    assert report["label_pixels"] > 1000, "enabling labels changed (almost) nothing"
    labels = set(report["labels"])
    assert len(labels) >= 3 and labels <= names, labels - names
    assert len([t for t in labels if any(c in t for c in "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệịỉĩọỏốồổỗộớờởỡợụủứừửữựỳỷỹỵ")]) >= 3
    assert report["log"] == (log or []), report["log"]


@pytest.fixture(scope="module")
def plan_names(live_server_url: str) -> set[str]:
    names = set()
    for layer in ("admin_units", "zones", "corridors", "axes", "projects"):
        items = httpx.get(f"{live_server_url}/collections/{layer}/items", params={"limit": 1000}).json()
        names |= {f["properties"]["name_vi"] for f in items["features"]}
    return names


def test_oapif(render: Render, live_server_url: str, plan_names: set[str]) -> None:
    report = render("qgis-oapif-zones.png", "oapif", f"{live_server_url}/", "zones")
    assert report["layers"][0]["provider"] == "OAPIF"
    assert_drawn_with_vietnamese_labels(report, plan_names)
    assert "Vùng đô thị và công nghiệp" in report["labels"]


def test_vector_tiles_with_the_converted_style(render: Render, live_server_url: str, plan_names: set[str]) -> None:
    report = render("qgis-vectortiles.png", "vectortile", live_server_url)
    assert report["converted"] and report["warnings"] == []
    assert_drawn_with_vietnamese_labels(report, plan_names)
    assert {"Tân An", "Vùng đô thị và công nghiệp"} <= set(report["labels"])
    # QGIS 3.22's converter understood every filter and colour of the plan style (it drops what it cannot read)
    styles = {s["name"]: s for s in report["styles"] + report["label_styles"]}
    style = httpx.get(f"{live_server_url}/styles/plan.json").json()
    for layer in style["layers"]:
        if "filter" in layer:
            assert styles[layer["id"]]["filter"], f"{layer['id']}: filter lost"
    assert "'#e8a87c'" in styles["zones-region-fill"]["colour"]
    assert all("IN ()" not in (s["colour"] or "") for s in report["styles"])
    assert {s["field"] for s in report["label_styles"]} == {'"name_vi"'}


def test_postgis_with_the_libpq_form(render: Render, db_url: str, plan_names: set[str]) -> None:
    conninfo = lapis(["db", "status", "--format", "libpq"], DATABASE_URL=db_url)
    assert conninfo.startswith("host=127.0.0.1 port=")
    report = render("qgis-postgis-admin-units.png", "postgis", conninfo, "admin_units")
    assert report["layers"][0]["features"] == 16
    assert_drawn_with_vietnamese_labels(report, plan_names)
    assert "Tân An" in report["labels"]


@pytest.mark.parametrize("source", ["oapif", "postgis"])
def test_the_project_lapis_writes(render: Render, live_server_url: str, db_url: str, plan_names: set[str],
                                  tmp_path: Path, source: str) -> None:
    project = tmp_path / f"plan-{source}.qgz"
    lapis(["qgis", "project", str(project), "--source", source,
           "--url", live_server_url if source == "oapif" else db_url])
    report = render(f"qgis-project-{source}.png", "project", str(project))
    # QGIS's PostGIS provider warns once about projects' generic `geometry` column (mixed kinds, one layer per kind)
    generic = [': Feature type or srid for geom of "public"."projects" could not be determined or was not requested.']
    assert report["read"] and report["crs"] == "EPSG:3857" and report["title"] == "Quy hoạch tỉnh Long An"
    assert report["tree"] == ["Dự án", "Trục động lực", "Đơn vị hành chính", "Hành lang kinh tế", "Vùng và phân khu"]
    counts = {layer["id"]: layer["features"] for layer in report["layers"]}
    assert_drawn_with_vietnamese_labels(report, plan_names, generic if source == "postgis" else None)
    # the regions' and the centre's names (overview labels) win over the district names they overlap, as on the map
    assert {"Trung tâm Tân An", "Vùng đô thị và công nghiệp", "Vùng đệm sinh thái", "Đức Hòa"} <= set(report["labels"])
    zones = report["details"]["lapis_zones_polygon"]
    assert zones["renderer"] == "RuleRenderer" and zones["labels"] == [["zones-label", "name_vi"]]
    assert ["Vùng đô thị và công nghiệp", "\"code\" = 'R1'", "#e8a87c"] in zones["rules"]
    if source == "postgis":
        projects = httpx.get(f"{live_server_url}/collections/projects/items", params={"limit": 1000}).json()
        points = [f for f in projects["features"] if f["geometry"]["type"] in ("Point", "MultiPoint")]
        assert counts["lapis_admin_units_polygon"] == 16 and counts["lapis_projects_point"] == len(points) > 0
        assert (counts["lapis_projects_point"] + counts["lapis_projects_linestring"]
                + counts["lapis_projects_polygon"]) == len(projects["features"])
