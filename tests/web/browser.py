"""A person's walk through the pages in headless Chromium (Playwright driving the system's
browser; no browser download): search, open an article, the crawl-health page. Each step
checks what the page shows and returns its screenshot. Used by tests/web/test_browser.py and
bench/screenshots.py.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

QUERY = "전기버스"
ARTICLE = "배터리 재활용"  # the result to open: the article with two versions
VIEWPORT = {"width": 1100, "height": 900}


def chromium() -> str | None:
    """The Chromium to drive: $SOSIK_CHROMIUM, else chromium on PATH (Debian's package)."""
    return os.environ.get("SOSIK_CHROMIUM") or shutil.which("chromium")


def tour(base: str, executable: str) -> dict[str, bytes]:
    """Walk the pages at `base`; name -> PNG. Raises AssertionError at the first thing wrong."""
    from playwright.sync_api import expect, sync_playwright

    shots: dict[str, bytes] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport=VIEWPORT, locale="ko-KR")
            errors: list[Any] = []
            page.on("pageerror", lambda e: errors.append(e))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            page.goto(base + "/")
            page.get_by_role("searchbox", name="검색어").fill(QUERY)
            page.keyboard.press("Enter")
            page.wait_for_url("**/?q=*")
            results = page.locator("ol.results li a.title")
            expect(results.first).to_be_visible()
            assert results.count() >= 2, results.all_inner_texts()
            marks = page.locator("ol.results mark").all_inner_texts()
            assert QUERY in marks and all(m in QUERY for m in marks), marks  # 전기, 버스, 전기버스
            shots["search"] = page.screenshot(full_page=True)

            results.filter(has_text=ARTICLE).first.click()
            page.wait_for_url("**/ui/articles/*")
            expect(page.locator("h1#title")).to_contain_text(ARTICLE)
            assert page.locator("#body p").count() >= 3
            assert page.locator("#addresses tr").count() >= 3  # head + every URL
            expect(page.locator("#versions ins, #versions p.added").first).to_be_visible()
            expect(page.locator("#hits")).to_contain_text(QUERY)
            shots["article"] = page.screenshot(full_page=True)

            page.get_by_role("link", name="크롤 상태").click()
            page.wait_for_url("**/ui/health")
            expect(page.locator("body[data-charts='2']")).to_be_attached()
            for chart in ("#chart-articles", "#chart-runs"):
                expect(page.locator(f"{chart} canvas")).to_be_visible()
            expect(page.locator("#jobs")).to_contain_text("broken")
            expect(page.locator("#failing")).to_contain_text("search.naver.com")
            shots["health"] = page.screenshot(full_page=True)
            assert not errors, errors
        finally:
            browser.close()
    return shots
