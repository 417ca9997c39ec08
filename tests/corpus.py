"""The corpus of saved pages, GOLD.md's scoring and `extract_article`, shared by the tests and the
benchmarks (not part of the product).

The corpus lives outside the repository (`SOSIK_CORPUS`, default `../shared/corpus`): real
third-party pages are read from there, never copied in.
"""

from __future__ import annotations

import csv
import json
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.domain.items import ArticleItem
from crawler.parsers import Page, parse_article
from pipelines.prepare import clean_article


def corpus_dir() -> Path:
    default = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
    return Path(os.environ.get("SOSIK_CORPUS", default))


@dataclass(frozen=True, slots=True)
class CorpusPage:
    path: Path  # the saved HTML
    url: str  # the address it was served at
    kind: str  # article | search | list
    site: str  # corpus folder, e.g. naver-article

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def expected(self) -> dict[str, Any]:
        return json.loads(self.path.with_suffix(".expected.json").read_text("utf-8"))


def corpus_pages(kind: str | None = None, root: Path | None = None) -> list[CorpusPage]:
    """Every page listed in SOURCES.tsv (with its request URL), optionally of one kind."""
    root = root or corpus_dir()
    src = root / "SOURCES.tsv"
    if not src.exists():
        return []
    pages = []
    with src.open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            url = row["original_url"].split(" (")[0].strip()
            p = CorpusPage(root / row["file"], url, row["page_type"], row["site"])
            if kind is None or p.kind == kind:
                pages.append(p)
    return pages


def norm(s: str | None) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", s or "")).strip()


def body_f1(extracted: str | None, gold: str | None) -> float:
    e, g = norm(extracted).split(), norm(gold).split()
    if not e and not g:
        return 1.0
    if not e or not g:
        return 0.0
    common = sum((Counter(e) & Counter(g)).values())
    if common == 0:
        return 0.0
    p, r = common / len(e), common / len(g)
    return 2 * p * r / (p + r)


def exact(extracted: str | None, gold: str | None) -> bool:
    return norm(extracted) == norm(gold)


def _minute(ts: str | None) -> datetime | None:
    if ts is None:
        return None
    dt = datetime.fromisoformat(ts)
    if dt.tzinfo is None:
        raise ValueError("offset required")
    return dt.astimezone(UTC).replace(second=0, microsecond=0)


def published_ok(extracted: str | None, gold: str | None) -> bool:
    try:
        return _minute(extracted) == _minute(gold)
    except ValueError:
        return False


def authors_ok(extracted: list[str] | None, gold: list[str]) -> bool:
    return {norm(a) for a in extracted or []} == {norm(a) for a in gold}


def score_article(item: dict[str, Any], gold: dict[str, Any]) -> dict[str, float]:
    """GOLD.md's scored fields for one article: body F1 and 1/0 for the exact ones."""
    return {
        "body_f1": body_f1(item.get("body"), gold.get("body")),
        "title": float(exact(item.get("title"), gold.get("title"))),
        "publisher": float(exact(item.get("publisher"), gold.get("publisher"))),
        "published_at": float(published_ok(item.get("published_at"), gold.get("published_at"))),
        "authors": float(authors_ok(item.get("authors"), gold.get("authors", []))),
    }


SEARCH_FIELDS = ("rank", "title", "url", "portal_url", "publisher", "published", "snippet")


def search_mismatches(results: list[dict[str, Any]], gold: dict[str, Any]) -> list[str]:
    """Every field of every ranked result that differs from the gold, as readable lines."""
    out = []
    want = gold["results"]
    if len(results) != len(want):
        out.append(f"count {len(results)} != {len(want)}")
    for got, exp in zip(results, want, strict=False):
        for f in SEARCH_FIELDS:
            g, e = got.get(f), exp.get(f)
            if isinstance(e, str) or isinstance(g, str):
                same = norm(g) == norm(e) if (g is not None and e is not None) else g == e
            else:
                same = g == e
            if not same:
                out.append(f"rank {exp.get('rank')} {f}: {g!r} != {e!r}")
    return out


def extract_article(page: Page) -> ArticleItem:
    """The site parser, then the cleaning step: the text a crawl stores, before validation and keys."""
    return clean_article(parse_article(page))
