"""Browser fixtures: Debian's chromium, headless, driven by Playwright (system executable), and the web map
opened in it with console errors and requests outside the local server collected."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.helpers import wait_for_js

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
TAN_AN = (106.413, 10.535)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture()
def open_map(browser: Any) -> Callable[..., Any]:
    """Opens `/map` (at Tân An, zoom 10, unless `view` says otherwise) and waits until it has drawn."""

    def _open(url: str, errors: list[str], external: list[str], query: str = "",
              requests: list[str] | None = None, view: str = f"10/{TAN_AN[1]}/{TAN_AN[0]}") -> Any:
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        host = url.split("//", 1)[1]
        page.on("request", lambda r: external.append(r.url) if not r.url.split("//", 1)[-1].startswith(host)
                and not r.url.startswith(("data:", "blob:")) else None)
        if requests is not None:
            page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{url}/map{query}#view={view}", wait_until="load")
        wait_for_js(page, "window.lapis && window.lapis.ready === true", timeout=60_000)
        return page

    return _open
