"""The pages work under their Content-Security-Policy: the web map (MapLibre's workers from blob: URLs, its inline
styles), the small maps of the HTML pages and Swagger UI render with no violation reported by the browser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers import wait_for_js

# Every violation the page sees, as the browser reports it (collected from the first script on).
WATCH_VIOLATIONS = """window.cspViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));"""


@pytest.fixture()
def watched(browser: Any) -> Callable[[str, list[str]], Any]:
    def _open(url: str, errors: list[str]) -> Any:
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        page.add_init_script(WATCH_VIOLATIONS)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        response = page.goto(url, wait_until="load")
        assert "content-security-policy" in response.headers, url
        return page

    return _open


def test_the_map_renders_under_its_csp(watched: Callable[[str, list[str]], Any], live_server_url: str) -> None:
    errors: list[str] = []
    page = watched(f"{live_server_url}/map#view=10/10.535/106.413", errors)
    wait_for_js(page, "window.lapis && window.lapis.ready === true", timeout=60_000)
    assert page.evaluate("window.lapis.map.queryRenderedFeatures().length") > 0
    assert page.evaluate("window.cspViolations") == []
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    page.close()


def test_an_html_page_map_renders_under_its_csp(watched: Callable[[str, list[str]], Any],
                                                live_server_url: str) -> None:
    errors: list[str] = []
    page = watched(f"{live_server_url}/collections/zones?f=html", errors)
    wait_for_js(page, "window.lapisPage && window.lapisPage.ready === true", timeout=60_000)
    assert page.evaluate("window.lapisPage.features") > 0 and page.evaluate("window.lapisPage.errors") == []
    assert page.evaluate("window.cspViolations") == []
    page.close()


def test_swagger_ui_renders_under_its_csp(watched: Callable[[str, list[str]], Any], live_server_url: str) -> None:
    errors: list[str] = []
    page = watched(f"{live_server_url}/api.html", errors)
    page.wait_for_selector(".swagger-ui .opblock", timeout=60_000)
    assert page.locator(".swagger-ui .opblock").count() > 10
    assert page.evaluate("window.cspViolations") == []
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    page.close()
