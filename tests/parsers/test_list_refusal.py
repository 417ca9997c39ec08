"""The generic parser refuses list-like pages (NotAnArticle) and never a real article.

Both directions over every saved page: each corpus article (as served, and again with its
article metadata cut out, so that the byline and body signals alone must carry it) and every
page of the shared extraction benchmarks stay articles; every corpus list, section, home and
search page is refused, by the generic parser alone and by the article path a crawl takes.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from crawler.parsers import NotAnArticle, generic, parse_article
from crawler.parsers.dom import ld_news, meta_map
from crawler.parsers.page import Page
from tests.conftest import load_page, require_corpus
from tests.corpus import corpus_pages
from tests.parsers.test_generic import bench_dir

ARTICLES = corpus_pages("article")
NOT_ARTICLES = [cp for cp in corpus_pages() if cp.kind != "article"]

# JSON-LD blocks, og:type, article:published_time and microdata article markers
_METADATA = re.compile(
    rb"<script[^>]*application/ld\+json[^>]*>.*?</script>"
    rb"|<meta[^>]*(?:og:type|article:published_time)[^>]*>"
    rb"|\sitemprop=\"articleBody\"|\sitemtype=\"[^\"]*Article\"",
    re.S | re.I,
)


def _why(page: Page) -> str | None:
    return generic.list_like(page, meta_map(page), ld_news(page), generic.dom_text(page))


@pytest.mark.parametrize("cp", ARTICLES, ids=[cp.name for cp in ARTICLES])
def test_corpus_article_is_never_refused(cp):
    require_corpus()
    assert _why(load_page(cp)) is None
    assert generic.parse_article(load_page(cp)).body
    bare = Page(url=cp.url, body=_METADATA.sub(b"", cp.path.read_bytes()))
    assert not ld_news(bare) and "og:type" not in meta_map(bare)
    assert _why(bare) is None, "refused once its metadata is gone"


@pytest.mark.parametrize("cp", NOT_ARTICLES, ids=[cp.name for cp in NOT_ARTICLES])
def test_corpus_list_and_search_pages_are_refused(cp):
    require_corpus()
    with pytest.raises(NotAnArticle) as e:
        generic.parse_article(load_page(cp))
    assert "list-like" in e.value.reason
    with pytest.raises(NotAnArticle):  # the crawl's article path: site parser, then generic
        parse_article(load_page(cp))


def _benchmark_pages() -> list[tuple[str, str, Path]]:
    """(name, url, gzipped html) of every page of the shared extraction benchmarks."""
    root = bench_dir()
    out: list[tuple[str, str, Path]] = []
    sh = root / "scrapinghub-article-extraction-benchmark"
    if (sh / "ground-truth.json").exists():
        for key, v in json.loads((sh / "ground-truth.json").read_text("utf-8")).items():
            out.append((f"scrapinghub:{key[:12]}", v["url"], sh / "html" / f"{key}.html.gz"))
    cjk = root / "fundus-parser-fixtures-cjk"
    if (cjk / "ground-truth.json").exists():
        html_dir = cjk / "tests" / "resources" / "parser" / "test_data"
        for key, v in json.loads((cjk / "ground-truth.json").read_text("utf-8")).items():
            out.append((f"fundus-cjk:{key}", v["url"], html_dir / f"{key}.html.gz"))
    for path in sorted((root / "fundus-evaluation" / "dataset" / "html").glob("*.html.gz")):
        out.append((f"fundus-eval:{path.name}", f"https://example.com/{path.name[:-8]}", path))
    for path in sorted((root / "trafilatura-eval" / "tests" / "cache").glob("*.html.gz")):
        out.append((f"trafilatura:{path.name}", f"https://{path.name[:-8]}", path))
    return out


def test_no_benchmark_article_page_is_refused():
    """As served, and with the article metadata cut out: body and byline alone must keep them."""
    pages = _benchmark_pages()
    if not pages:
        pytest.skip(f"shared benchmarks not found at {bench_dir()} (set SOSIK_BENCH)")
    refused = []
    for name, url, path in pages:
        html = gzip.open(path).read()
        for label, body in (("served", html), ("bare", _METADATA.sub(b"", html))):
            why = _why(Page(url=url, body=body))
            if why:
                refused.append((name, label, why))
    assert len(pages) >= 300
    assert refused == []


# --- hand-written pages: which signal decides -------------------------------------------------


def _list_html(lead: str, dated: bool) -> str:
    items = "".join(
        f'<li class="item"><a href="https://www.example.co.kr/news/articleView.html?idxno=10{i:04d}">'
        f"지역 소식 제목 {i}번째 기사입니다</a><p>{lead}</p>"
        + (f"<span>입력 2026-01-05 10:{i:02d}</span>" if dated else "")
        + "</li>"
        for i in range(12)
    )
    return f"<html><head><title>지역 | 예시일보</title></head><body><ul>{items}</ul></body></html>"


LEAD = "시가 여름철 도심 공원의 개방 시간을 늘리기로 했다. " * 12


def test_list_with_long_leads_and_a_date_on_every_item_is_refused():
    for dated in (False, True):
        page = Page(
            url="https://www.example.co.kr/news/list", body=_list_html(LEAD, dated).encode()
        )
        with pytest.raises(NotAnArticle):
            generic.parse_article(page)


def test_article_with_only_a_dated_byline_or_only_a_body_is_kept():
    related = "".join(
        f'<li><a href="https://www.example.co.kr/news/articleView.html?idxno=20{i:04d}">'
        f"관련 기사 제목 {i}번째 기사입니다</a></li>"
        for i in range(12)
    )
    body = "".join(f"<p>{LEAD}</p>" for _ in range(3))
    byline = "<p>정하늘 기자 입력 2026-01-05 10:00</p><p>시가 공원을 연다.</p>"
    for content in (byline, body):
        html = (
            "<html><head><title>공원 야간 개방 | 예시일보</title></head><body>"
            f"<h1>공원 야간 개방</h1><div>{content}</div><ul>{related}</ul></body></html>"
        )
        page = Page(
            url="https://www.example.co.kr/news/articleView.html?idxno=1", body=html.encode()
        )
        assert _why(page) is None
