"""Extraction accuracy on the corpus gold: sosik against trafilatura and newspaper4k, per site.

    .venv/bin/python bench/accuracy.py [--pages]

Every corpus article page with a `.expected.json` is extracted by each contender and scored
with tests.corpus.score_article (GOLD.md: body token F1, exact title, publisher,
published_at to the minute with its offset, author sets). Contenders:

- sosik: tests.corpus.extract_article, what a crawl stores (site parser + cleaning).
- sosik generic: the generic parser + cleaning on every page, as if no site parser existed
  (what an unknown publisher gets). The site parsers were written against these very pages,
  so this row is the fairer comparison with the general-purpose tools.
- trafilatura: bare_extraction(with_metadata=True); dates asked for with their time and offset
  (`date_extraction_params` outputformat %Y-%m-%dT%H:%M:%S%z, original_date) because its
  default day-only date can never match GOLD.md's to-the-minute rule; authors split on ";".
- newspaper4k: Article(url, fetch_images=False) on the saved HTML, language detected from the
  page (Korean). Its Korean tokenizer is NLTK's word_tokenize, which needs the `punkt_tab`
  data that NLTK downloads at run time; offline that fails, and a failed page scores 0.
- newspaper4k (language=en): the same with the language forced to English, which needs no
  NLTK data: metadata still works; body detection counts English stopwords.
"""

from __future__ import annotations

import argparse
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

import _common

from crawler.domain.dates import KST
from crawler.parsers import Page
from crawler.parsers import generic as generic_parser
from pipelines.prepare import clean_article
from tests.corpus import corpus_pages, extract_article, score_article

FETCHED = datetime(2026, 9, 3, 0, 25, tzinfo=KST)  # what tests/parsers/test_corpus.py uses
FIELDS = ("body_f1", "title", "published_at", "publisher", "authors")


def sosik(url: str, body: bytes) -> dict[str, Any]:
    return extract_article(Page(url, body, fetched_at=FETCHED)).to_json()


def sosik_generic(url: str, body: bytes) -> dict[str, Any]:
    page = Page(url, body, fetched_at=FETCHED)
    return clean_article(generic_parser.parse_article(page)).to_json()


def trafilatura_extract(url: str, body: bytes) -> dict[str, Any]:
    import trafilatura

    doc = trafilatura.bare_extraction(
        body,
        url=url,
        with_metadata=True,
        date_extraction_params={"outputformat": "%Y-%m-%dT%H:%M:%S%z", "original_date": True},
    )
    if doc is None:
        return {}
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    return {
        "body": doc.text,
        "title": doc.title,
        "published_at": doc.date,
        "publisher": doc.sitename,
        "authors": authors,
    }


def newspaper_extract(url: str, body: bytes, language: str | None = None) -> dict[str, Any]:
    from newspaper import Article

    from crawler.parsers.page import decode_html

    kwargs: dict[str, Any] = {"fetch_images": False}
    if language:
        kwargs["language"] = language
    art = Article(url, **kwargs)
    art.download(input_html=decode_html(body)[0])
    art.parse()
    return {
        "body": art.text,
        "title": art.title,
        "published_at": art.publish_date.isoformat() if art.publish_date else None,
        "publisher": getattr(art, "meta_site_name", None) or None,
        "authors": list(art.authors or []),
    }


CONTENDERS: dict[str, Callable[[str, bytes], dict[str, Any]]] = {
    "sosik": sosik,
    "sosik generic": sosik_generic,
    "trafilatura": trafilatura_extract,
    "newspaper4k": newspaper_extract,
    "newspaper4k (language=en)": lambda u, b: newspaper_extract(u, b, "en"),
}


def _published(value: Any) -> Any:
    """A published value as scoring wants it: str ISO, or None."""
    if value in ("", None):
        return None
    return str(value)


def score(
    fn: Callable[[str, bytes], dict[str, Any]], url: str, body: bytes, gold: dict[str, Any]
) -> tuple[dict[str, float], str | None]:
    """Scores of one contender on one page, and its error (a failure scores 0 everywhere)."""
    try:
        item = fn(url, body)
    except Exception as e:
        message = " ".join(str(e).replace("*", " ").split())
        return dict.fromkeys(FIELDS, 0.0), f"{type(e).__name__}: {message}"
    item = {**item, "published_at": _published(item.get("published_at"))}
    try:
        return score_article(item, gold), None
    except (TypeError, ValueError) as e:  # an unreadable date: wrong, not a crash
        item["published_at"] = None
        s = score_article(item, gold)
        s["published_at"] = 0.0
        return s, f"unreadable date: {e}"


SCORE_HEADERS = ["body F1 mean", "body F1 min", "title", "published_at", "publisher", "authors"]


def _aggregate(ss: list[dict[str, float]]) -> list[float]:
    """Mean and min body F1, then the exact-match rate of each other field."""
    f1 = [s["body_f1"] for s in ss]
    return [sum(f1) / len(f1), min(f1), *(sum(s[f] for s in ss) / len(ss) for f in FIELDS[1:])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", action="store_true", help="also print the body F1 of every page")
    ap.add_argument("--only", action="append", help="contender(s) to run (default: all)")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # the extractors' own warnings about failed pages
    print(f"# bench/accuracy.py — {_common.machine()}")
    print(f"# {_common.versions('trafilatura', 'newspaper4k', 'nltk', 'lxml')}")
    pages = [p for p in corpus_pages("article") if p.path.with_suffix(".expected.json").exists()]
    if not pages:
        raise SystemExit("no corpus article pages with gold (set SOSIK_CORPUS)")
    names = args.only or list(CONTENDERS)
    scores: dict[str, dict[str, list[dict[str, float]]]] = defaultdict(lambda: defaultdict(list))
    errors: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_page: list[list[Any]] = []
    for p in pages:
        body, gold = p.path.read_bytes(), p.expected
        row: list[Any] = [f"{p.site}/{p.name}"]
        for name in names:
            s, err = score(CONTENDERS[name], p.url, body, gold)
            scores[name][p.site].append(s)
            if err:
                errors[name][err] += 1
            row.append(s["body_f1"])
        per_page.append(row)

    sites = sorted({p.site for p in pages})
    rows = []
    for name in names:
        for site in sites:
            rows.append([name, site, len(scores[name][site]), *_aggregate(scores[name][site])])
        every = [s for v in scores[name].values() for s in v]
        rows.append([name, f"ALL ({len(every)} pages)", len(every), *_aggregate(every)])
    print(
        _common.table(
            ["contender", "site", "pages", *SCORE_HEADERS],
            rows,
            "GOLD.md scoring: body token F1; the other columns are exact-match rates",
        )
    )
    summary = []
    for name in names:
        every = [s for v in scores[name].values() for s in v]
        summary.append([name, *_aggregate(every), sum(errors[name].values())])
    print(
        _common.table(
            ["contender (all pages)", *SCORE_HEADERS, "failures"],
            summary,
            "Summary",
        )
    )
    if args.pages:
        print(_common.table(["page", *names], per_page, "Body F1 per page"))
    for name in names:
        for err, n in errors[name].items():
            print(f"{name}: {n} page(s): {err[:300]}")


if __name__ == "__main__":
    main()
