"""Every corpus page through the registry, as one JSON document: the proof that a refactor
changed no extraction.

    .venv/bin/python bench/extract_dump.py > before.json
    ... change the code ...
    .venv/bin/python bench/extract_dump.py > after.json && diff before.json after.json

Each page listed in $SOSIK_CORPUS/SOURCES.tsv is read with a fixed fetch time as what the
URL says it is (article, search or list). An article gives three readings: the site parser's
item, the item as the pipelines store it (validated, cleaned, identity keys), and the
validation problems, if any; search and list pages give their parsed JSON. A page that
fails gives its error class and reason instead, so a change in what fails shows up too.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import _common  # noqa: F401 - the repository on sys.path

from crawler.domain.dates import KST
from crawler.domain.urls import page_kind
from crawler.parsers import NotAnArticle, Page, ParseError, parse_article, parse_list, parse_search
from pipelines.prepare import Rejected, prepare
from tests.corpus import corpus_pages

FETCHED = datetime(2026, 9, 3, 0, 25, tzinfo=KST)


def _page(url: str, body: bytes) -> Page:
    return Page(url=url, body=body, fetched_at=FETCHED)


def _guarded(fn) -> Any:
    try:
        return fn()
    except (NotAnArticle, ParseError) as e:
        return {"error": type(e).__name__, "reason": e.reason}


def _prepared(url: str, body: bytes) -> Any:
    try:
        return prepare(parse_article(_page(url, body))).to_json()
    except Rejected as e:
        return {"rejected": e.problems}


def dump_page(url: str, body: bytes) -> dict[str, Any]:
    """Every reading of one page, keyed by what was read."""
    kind = page_kind(url)
    if kind == "search":
        return {"search": _guarded(lambda: parse_search(_page(url, body)).to_json())}
    if kind == "list":
        return {"list": _guarded(lambda: parse_list(_page(url, body)).to_json())}
    return {
        "parsed": _guarded(lambda: parse_article(_page(url, body)).to_json()),
        "prepared": _guarded(lambda: _prepared(url, body)),
    }


def main() -> int:
    pages = corpus_pages()
    if not pages:
        print("no corpus pages (set SOSIK_CORPUS)", file=sys.stderr)
        return 1
    out = {f"{p.site}/{p.name}": dump_page(p.url, p.path.read_bytes()) for p in pages}
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1, sort_keys=True, default=str)
    sys.stdout.write("\n")
    print(f"{len(out)} pages", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
