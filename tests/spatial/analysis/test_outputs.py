"""What analysts get on disk: each script in scripts/analysis/ writes its CSV and a non-blank PNG chart, `lapis report`
writes one self-contained bilingual HTML page, and the notebook in notebooks/ runs top to bottom (nbclient)."""

from __future__ import annotations

import base64
import csv
import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from spatial.settings import PROJECT_ROOT
from spatial.synthetic import load_parcels, synthetic_parcels
from tests.helpers import assert_png_not_blank

PARCELS = 3_000
SCRIPTS = {  # script: (CSV columns it must have, PNG files)
    "region_area_by_district": ({"district_code", "region_code", "area_km2", "share_of_district_pct"},
                                ["region_area_by_district.png"]),
    "projects_by_axis": ({"axis", "status", "category", "projects", "length_km_drawn", "investment_vnd_bn"},
                         ["projects_by_axis.png"]),
    "parcels_by_region": ({"region_code", "land_use", "parcels", "area_ha"},
                          ["parcels_by_region.png", "parcels_by_region_map.png"]),
    "project_axis_distance": ({"code", "axis_code", "distance_m"}, ["project_axis_distance.png"]),
}


@pytest.fixture(scope="module")
def parcels_url(make_database: Callable[[], str]) -> str:
    url = make_database()
    load_parcels(url, synthetic_parcels(PARCELS, seed=31, edge_share=0.1))
    return url


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_analysis_script(parcels_url: str, tmp_path: Path, script: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "DATABASE_URL": parcels_url, "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "analysis" / f"{script}.py"),
                             "--out", str(tmp_path)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    columns, images = SCRIPTS[script]
    with (tmp_path / f"{script}.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert rows and columns <= set(rows[0]), rows[:1]
    for image in images:
        assert_png_not_blank((tmp_path / image).read_bytes())
    if script == "parcels_by_region":
        assert sum(int(r["parcels"]) for r in rows) == PARCELS
    if script == "region_area_by_district":
        assert any(r["district_code"] == "804" and r["region_code"] == "R3" for r in rows)


def test_report_is_one_self_contained_bilingual_page(parcels_url: str, tmp_path: Path) -> None:
    out = tmp_path / "plan.html"
    result = CliRunner().invoke(cli, ["report", str(out)], env={"DATABASE_URL": parcels_url})
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched from elsewhere
    assert '<link' not in page and '<script' not in page
    text = html.unescape(page)
    for vi, en in (("Diện tích các vùng theo huyện", "Regions' area by district"),
                   ("Dự án theo trục động lực và trạng thái", "Projects by axis and status"),
                   ("Thửa đất theo vùng và mục đích sử dụng", "Parcels by region and land use"),
                   ("Khoảng cách từ dự án đến trục động lực gần nhất", "Distance of projects to the nearest")):
        assert vi in text and en in text
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 5
    for image in images:
        assert_png_not_blank(base64.b64decode(image))
    assert f"{PARCELS:,} parcels" in text and "CC BY 3.0 IGO" in text


def test_notebook_runs(parcels_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Executed in a kernel of this very interpreter (the project's venv), against a test database."""
    import nbclient
    import nbformat

    spec = tmp_path / "kernels" / "lapis-venv"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "LAPIS venv", "language": "python",
        "env": {"PYTHONPATH": str(PROJECT_ROOT), "DATABASE_URL": parcels_url, "MPLBACKEND": "Agg"}}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / "analysis_tour.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, kernel_name="lapis-venv", timeout=600,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2
    for image in images:
        assert_png_not_blank(base64.b64decode(image["data"]["image/png"]))
    texts = " ".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "Thủ Thừa" in texts and "1.0" in texts  # the ORM cell; Dask agreed with PostGIS on every parcel
