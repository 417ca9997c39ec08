"""The README's screenshots of `sosik serve`'s pages: docs/img/{search,article,health}.png.

    .venv/bin/python bench/screenshots.py [--out docs/img]

A throwaway database (DATABASE_URL's server, else the embedded one) gets what the web tests
read: `sosik demo`'s site crawled by three scheduled-job crawls through the real Scrapy engine,
one article edited into a second version, everything indexed for search
(tests/web/newsdb.py). The application is served, with the schedule those jobs would run from, on loopback and headless Chromium
(Debian's `chromium`, driven by Playwright) walks it as the browser test does
(tests/web/browser.py): search 전기버스, open the article with two versions, the health page.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import _common

from tests.web.browser import chromium, tour
from tests.web.newsdb import Served, fill, schedule


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=_common.REPO / "docs" / "img")
    args = ap.parse_args()
    executable = chromium()
    if executable is None:
        raise SystemExit("no chromium (apt-get install chromium, or set SOSIK_CHROMIUM)")
    args.out.mkdir(parents=True, exist_ok=True)
    with _common.throwaway_database("sosik_shots") as url:
        fill(url)
        with Served(url, schedule=schedule()) as base:
            shots = tour(base, executable)
    for name, png in shots.items():
        path = args.out / f"{name}.png"
        path.write_bytes(png)
        print(f"{path} ({len(png) // 1024} KiB)")


if __name__ == "__main__":
    main()
