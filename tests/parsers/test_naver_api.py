"""Naver's paged answers: the search loader's JSON blocks and the section feed's blocks.

Real pages from the corpus wherever one exists (answers are assembled at test time from the
real blocks, tests/e2e/naverkit.py); small hand-written strings for what no saved page shows
(a renamed loader path, a stated cap other than 2,000, JS escapes).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from crawler.domain.dates import KST
from crawler.parsers import naver
from crawler.parsers.naver import search as naver_search
from crawler.parsers.page import Page, ParseError
from tests.conftest import require_corpus
from tests.corpus import search_mismatches
from tests.e2e import naverkit as k

SEARCH = "https://search.naver.com/search.naver?where=news&query=x"
LOADER = "https://s.search.naver.com/p/newssearch/3/api/tab/more?query=x&start=11"
CLOCK = datetime(2026, 9, 3, 0, 25, tzinfo=KST)


@pytest.fixture(scope="module")
def blocks() -> dict[str, k.Block]:
    require_corpus()
    return k.search_blocks()


def fields(hits) -> list[tuple]:
    return [(h.title, h.url, h.portal_url, h.publisher, h.published) for h in hits]


# --- the page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rel", [k.PAYHERE, k.BSIDE])
def test_page_names_its_loader_and_cap_and_its_two_readings_agree(rel):
    require_corpus()
    page = Page(url=SEARCH, body=k.page_bytes(rel), fetched_at=CLOCK)
    result = naver.parse_search(page)
    assert result.next_url.startswith("https://s.search.naver.com/p/newssearch/3/api/tab/more?")
    assert result.next_url.endswith("&start=11")
    assert result.result_cap == 2000  # "뉴스 검색결과를 2,000건까지 제공합니다"
    assert result.drift == []
    # the renderer's start-up data (minified JS on the page, JSON in the loaded block) holds
    # the same results as the markup, field by field
    data, query = naver_search._bootstrap_data(page.text, None)
    assert query == result.query
    now = naver_search._page_time(page)
    from_data = [naver_search._data_hit(d, now) for d in data]
    assert sorted((h["title"], h["url"], h["portal_url"], h["publisher"], h["published"])
                  for h in from_data) == sorted(fields(result.hits))  # fmt: skip


def test_page_without_its_markup_is_read_from_the_renderer_data():
    require_corpus()
    text = k.page_bytes(k.PAYHERE).decode()
    broken = text.replace("sds-comps-text-type-headline1", "t-h1-renamed")
    page = Page(url=SEARCH, body=broken.encode(), fetched_at=CLOCK)
    result = naver.parse_search(page)
    gold = json.loads((k.corpus_file(k.PAYHERE.replace(".html", ".expected.json"))).read_text())
    assert search_mismatches([h.to_json() for h in result.hits], gold) == []
    assert result.drift and "renderer's data" in result.drift[0]


def test_loader_url_is_taken_as_written_whatever_its_path():
    html = (
        "<html><head><title>q : 네이버 뉴스검색</title></head><body>"
        '<ul class="list_news _infinite_list"><li><div class="sds-comps-profile">'
        '<span class="sds-comps-profile-info-title-text">가상일보</span></div>'
        '<a href="https://example.com/1"><span class="sds-comps-text-type-headline1">제목</span>'
        "</a></li></ul>"
        '<div id="news_max_display"><p>뉴스 검색결과를 1,000건까지 제공합니다.</p></div>'
        '<script>x({"url":"https:\\/\\/s.search.naver.com\\/p\\/newssearch\\/4\\/api\\/tab'
        '\\/more?query=q\\u0026start=11","insertTarget":"._infinite_list"})</script>'
        "</body></html>"
    )
    result = naver.parse_search(Page(url=SEARCH, body=html.encode()))
    assert (
        result.next_url == "https://s.search.naver.com/p/newssearch/4/api/tab/more?query=q&start=11"
    )
    assert result.result_cap == 1000
    assert result.has_next is True


# --- the loader's answers ---------------------------------------------------------------------


def test_answer_block_reads_like_the_page(blocks):
    body = k.answer(blocks["bside2"], LOADER.replace("start=11", "start=21"))
    result = naver.parse_search(Page(url=LOADER, body=body, fetched_at=CLOCK))
    gold = json.loads(k.corpus_file(k.BSIDE.replace(".html", ".expected.json")).read_text())
    want = {**gold, "results": [{**r, "rank": r["rank"] - 10} for r in gold["results"][10:]]}
    assert search_mismatches([h.to_json() for h in result.hits], want) == []
    assert {h.page for h in result.hits} == {2}  # start=11: the second block of ten
    assert result.next_url == LOADER.replace("start=11", "start=21")
    assert result.has_next is True and result.drift == []
    assert result.query == "x"


def test_answer_whose_readings_disagree_is_drift(blocks):
    b = blocks["bside2"]
    # the data now names another title for the first result than the markup shows
    script = b.script.replace("14년차 가치투자 고수는", "14년차 투자 고수는")
    assert script != b.script
    body = k.answer(k.Block(b.html, script, b.urls, b.dates), None)
    result = naver.parse_search(Page(url=LOADER, body=body, fetched_at=CLOCK))
    assert len(result.hits) == 10
    assert len(result.drift) == 1 and result.drift[0].startswith("title of ")
    # a markup that reads no result at all: the data's results, and a note saying so
    body = k.answer(k.Block(b.html.replace("sds-comps-profile", "p-x"), b.script, (), ()), None)
    result = naver.parse_search(Page(url=LOADER, body=body, fetched_at=CLOCK))
    assert [h.url for h in result.hits] == list(b.urls)
    assert result.has_next is False  # no `url` in the answer: the last block


def test_null_collection_is_a_transient_failure_not_the_end():
    body = b'{"collection": null}'
    assert naver.is_empty_answer(body)
    with pytest.raises(naver_search.EmptyAnswer):
        naver.parse_search(Page(url=LOADER, body=body))
    assert not naver.is_empty_answer(b'{"collection": [], "url": ""}')
    assert not naver.is_empty_answer(b"<html>{}</html>")
    last = naver.parse_search(Page(url=LOADER, body=b'{"collection": [{"html": ""}]}'))
    assert last.hits == [] and last.has_next is False and last.next_url is None
    with pytest.raises(ParseError):
        naver.parse_search(Page(url=LOADER, body=b'{"nothing": 1}'))


def test_js_literals_become_data():
    text = '{a:!0,b:\'it\\\'s\',"c":[1,2.5,],d:undefined,e:{f:null,g:"\\uD55C"}}'
    assert naver_search._js_data(text, 0) == {
        "a": True,
        "b": "it's",
        "c": [1, 2.5],
        "d": None,
        "e": {"f": None, "g": "한"},
    }
    with pytest.raises(ValueError):
        naver_search._js_data("{a:function(){}}", 0)


# --- the section feed -------------------------------------------------------------------------


def test_section_page_gives_the_next_block_from_its_cursor():
    require_corpus()
    result = naver.parse_list(Page(url=k.SECTION_URL, body=k.section_page()))
    assert result.links == k.section_links()
    assert result.next_url == (
        "https://news.naver.com/section/template/SECTION_ARTICLE_LIST"
        "?sid=100&sid2=&cluid=&pageNo=2&date=&next=20260530010909"
    )


def test_feed_block_gives_its_links_and_the_cursor_after_it():
    require_corpus()
    html, links = k.relink(k.section_groups()[0], 1)
    url = (
        "https://news.naver.com/section/template/SECTION_ARTICLE_LIST"
        "?sid=101&sid2=259&cluid=&pageNo=4&date=&next=1"
    )
    body = k.feed_block("SECTION_ARTICLE_LIST", [html], "20260529010101", 4)
    result = naver.parse_list(Page(url=url, body=body))
    assert result.links == links
    assert result.next_url == url.replace("pageNo=4", "pageNo=5").replace(
        "next=1", "next=20260529010101"
    )
    last = naver.parse_list(
        Page(url=url, body=k.feed_block("SECTION_ARTICLE_LIST", [html], None, 4))
    )
    assert last.links == links and last.next_url is None
    # the title links renamed: each item's first article link stands in
    renamed = k.feed_block("X", [html.replace("sa_text_title", "t1")], None, 4)
    assert naver.parse_list(Page(url=url, body=renamed)).links == links
    with pytest.raises(ParseError):
        naver.parse_list(Page(url=url, body=b'{"other": {}}'))


def test_sub_section_page_names_its_section_by_path():
    html = (
        '<html><body><div class="section_latest_article" data-has-next="true" '
        'data-cursor-name="next" data-cursor="20260101000000" data-page-no="1" '
        'data-template="SECTION_ARTICLE_LIST_FOR_LATEST">'
        '<ul class="sa_list"><li class="sa_item"><a class="sa_text_title" '
        'href="https://n.news.naver.com/mnews/article/001/0000000001">t</a></li></ul>'
        "</div></body></html>"
    )
    url = "https://news.naver.com/breakingnews/section/101/259"
    result = naver.parse_list(Page(url=url, body=html.encode()))
    assert result.next_url == (
        "https://news.naver.com/section/template/SECTION_ARTICLE_LIST_FOR_LATEST"
        "?sid=101&sid2=259&cluid=&pageNo=2&date=&next=20260101000000"
    )
