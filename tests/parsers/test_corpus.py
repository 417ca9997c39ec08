"""Every saved page of the corpus against its hand-checked gold (GOLD.md's scoring)."""

from __future__ import annotations

from datetime import datetime

import pytest

from crawler.domain.dates import KST
from crawler.domain.portals import site_key
from crawler.parsers import parse_list, parse_search
from tests.conftest import load_page, require_corpus
from tests.corpus import corpus_pages, extract_article, score_article, search_mismatches

ARTICLES = corpus_pages("article")
SEARCHES = corpus_pages("search")
LISTS = corpus_pages("list")


def _ids(pages):
    return [p.name for p in pages]


@pytest.mark.parametrize("cp", ARTICLES, ids=_ids(ARTICLES))
def test_article_matches_gold(cp):
    require_corpus()
    item = extract_article(load_page(cp)).to_json()
    gold = cp.expected
    s = score_article(item, gold)
    site_parsed = site_key(cp.url) is not None and not item["parser"].startswith("generic")
    floor = 0.99 if site_parsed else 0.90
    assert item["body"], "empty body"
    assert s["body_f1"] >= floor, (s, item["parser"])
    assert item["title"] == gold["title"]
    assert item["publisher"] == gold["publisher"]
    assert s["published_at"] == 1.0, (item["published_at"], gold["published_at"])
    assert s["authors"] == 1.0, (item["authors"], gold["authors"])
    assert item["url"] == gold["url"]


@pytest.mark.parametrize("cp", SEARCHES, ids=_ids(SEARCHES))
def test_search_page_matches_gold(cp):
    require_corpus()
    page = load_page(cp)
    page.fetched_at = datetime(2026, 9, 3, 0, 25, tzinfo=KST)
    result = parse_search(page)
    gold = cp.expected
    assert result.query == gold["query"]
    assert result.portal == gold["portal"]
    assert result.total_shown == gold["total_shown"]
    assert search_mismatches([h.to_json() for h in result.hits], gold) == []


@pytest.mark.parametrize("cp", LISTS, ids=_ids(LISTS))
def test_list_page_matches_gold(cp):
    require_corpus()
    result = parse_list(load_page(cp))
    assert result.links == cp.expected["links"]
