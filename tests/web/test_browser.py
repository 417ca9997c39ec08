"""The pages in a real headless Chromium: search, open an article, the health page's charts.

Needs Debian's `chromium` (.ci/run installs it). Outside CI, a machine without it skips with
that reason; in CI (CI=true) its absence is a failure, not a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.web.browser import chromium, tour

PNG = b"\x89PNG\r\n\x1a\n"


def test_search_open_an_article_and_the_health_page(api: str, tmp_path: Path) -> None:
    executable = chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("no chromium in CI: .ci/run installs it (apt-get install chromium)")
        pytest.skip("no chromium on this machine (apt-get install chromium, or SOSIK_CHROMIUM)")
    shots = tour(api, executable)
    assert set(shots) == {"search", "article", "health"}
    for name, png in shots.items():
        assert png.startswith(PNG) and len(png) > 20_000, (name, len(png))
        (tmp_path / f"{name}.png").write_bytes(png)
