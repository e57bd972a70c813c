"""`lapis report`'s HTML page in headless chromium: it renders from the file alone (no request leaves it), every chart
is drawn, and both languages show."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from spatial.analysis.report import write_report
from spatial.synthetic import load_parcels, synthetic_parcels
from tests.helpers import assert_png_not_blank


def test_report_renders_offline(browser: Any, make_database: Callable[[], str], tmp_path: Path) -> None:
    url = make_database()
    load_parcels(url, synthetic_parcels(1_000, seed=8))
    page_file = write_report(tmp_path / "plan.html", url)
    errors: list[str] = []
    requests: list[str] = []
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_file.as_uri(), wait_until="load")
    images = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])")
    assert len(images) == 5 and all(done and w > 300 and h > 150 for done, w, h in images), images
    assert not errors
    assert [r for r in requests if not r.startswith(("file:", "data:"))] == []
    assert page.locator("h1").inner_text().startswith("Quy hoạch tỉnh Long An")
    english = page.locator("h2 [lang=en]").all_inner_texts()
    assert "Projects by axis and status" in english and len(english) == 4
    assert page.locator("h2 [lang=en]").first.is_visible()
    assert page.locator("#parcels table tbody tr").count() > 5
    for i in range(5):  # each chart as the browser drew it
        assert_png_not_blank(page.locator("img").nth(i).screenshot(), min_width=300)
    page.close()
