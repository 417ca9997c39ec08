"""Daum: the real saved article and search pages, and our own fixture of the 2026 layout."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from crawler.domain.dates import KST
from crawler.parsers import NotAnArticle, ParseError, daum, parse_article
from crawler.parsers.page import Page
from tests.conftest import FIXTURES, load_page, require_corpus
from tests.corpus import corpus_pages, extract_article, score_article, search_mismatches

ARTICLES = [cp for cp in corpus_pages("article") if cp.site == "daum-article"]
SEARCHES = [cp for cp in corpus_pages("search") if cp.site == "daum-search"]


def _fixture(name: str) -> str:
    return (FIXTURES / "daum" / name).read_text("utf-8")


# --- articles (real pages) ----------------------------------------------------------------------


@pytest.mark.parametrize("cp", ARTICLES, ids=[cp.name for cp in ARTICLES])
def test_article_scores_full_marks(cp):
    require_corpus()
    item = extract_article(load_page(cp))
    gold = cp.expected
    scores = score_article(item.to_json(), gold)
    assert scores == {"body_f1": 1.0, "title": 1.0, "publisher": 1.0, "published_at": 1.0,
                      "authors": 1.0}  # fmt: skip
    assert item.parser == "daum.v/1"
    assert item.portal == "daum"
    # the 17-digit id from the request URL, never og:url's short alias (kept as an alias)
    assert item.url == gold["url"]
    assert item.urls and "/v/" in item.urls[0] and item.urls[0] != item.url
    assert item.section == gold["section"]
    assert item.original_url is None  # a.link_cp is the press's home page, not the story
    assert item.publisher != "다음뉴스"


@pytest.mark.parametrize("cp", ARTICLES, ids=[cp.name for cp in ARTICLES])
def test_article_dates_keep_og_regdate_seconds(cp):
    require_corpus()
    item = daum.parse_article(load_page(cp))
    assert item.published_at == datetime.fromisoformat(cp.expected["published_at"])
    gold_updated = cp.expected["updated_at"]
    assert item.updated_at == (datetime.fromisoformat(gold_updated) if gold_updated else None)


def test_yonhap_copy_takes_the_reporter_from_the_dateline():
    require_corpus()
    cp = next(c for c in ARTICLES if c.name == "daum_v_20100101092104056")
    item = daum.parse_article(load_page(cp))
    assert item.authors == ["임상현"]
    assert item.body.startswith("(포항=연합뉴스) 임상현 기자 = ")  # the dateline stays in the text


def test_body_leaves_out_captions_and_copyright():
    require_corpus()
    for cp in ARTICLES:
        body = extract_article(load_page(cp)).body
        assert "자료사진" not in body and "yesphoto@" not in body  # figcaptions
        assert "무단전재" not in body and "Kakao" not in body


def test_short_alias_request_url_still_gives_the_17_digit_id():
    require_corpus()
    cp = ARTICLES[0]
    page = Page(url="https://news.v.daum.net/v/M0MDrUFHUD", body=cp.path.read_bytes())
    assert daum.parse_article(page).url == cp.expected["url"]


def test_page_without_body_falls_back_to_generic():
    require_corpus()
    cp = ARTICLES[1]
    html = cp.path.read_text("utf-8").replace('class="article_view"', 'class="article_body"')
    page = Page(url=cp.url, body=html.encode("utf-8"))
    with pytest.raises(ParseError):
        daum.parse_article(page)
    assert parse_article(page).parser.startswith("generic")


# --- 2026 layout (own fixture) ------------------------------------------------------------------


def test_2026_layout_fixture():
    page = Page(
        url="https://v.daum.net/v/20260106161923456", body=_fixture("article_2026.html").encode()
    )
    item = extract_article(page)
    assert item.url == "https://v.daum.net/v/20260106161923456"
    assert item.title == "도심 공원 야간 개방 확대"
    assert item.publisher == "한빛일보"  # og:article:author says 다음뉴스 here: the logo wins
    assert item.authors == ["정하늘"]
    assert item.published_at == datetime(2026, 1, 6, 16, 19, tzinfo=KST)  # "2026. 1. 6. 16:19"
    assert item.updated_at == datetime(2026, 1, 6, 18, 2, tzinfo=KST)
    assert item.subtitle == "시, 여름철 공원 12곳\n밤 10시까지 연다"
    assert item.section == "사회"
    assert item.original_url == "https://www.example-press.co.kr/news/articleView.html?idxno=1234"
    assert item.body.split("\n\n") == [
        "[한빛일보=정하늘 기자] 시가 여름철 도심 공원 12곳의 개방 시간을 밤 10시까지 늘린다.",
        "시는 야간 순찰을 늘리고 조명을 보강하기로 했다.",
        "주민 의견은 다음 달까지 받는다.",
        "개방 시간은 7월부터 9월까지 적용된다.",
    ]


def test_alias_only_url_reads_the_id_from_the_comment_widget():
    page = Page(url="https://v.daum.net/v/Xy12AbCdEf", body=_fixture("article_2026.html").encode())
    assert daum.parse_article(page).url == "https://v.daum.net/v/20260106161923456"


# --- search (real page) -------------------------------------------------------------------------


@pytest.mark.parametrize("cp", SEARCHES, ids=[cp.name for cp in SEARCHES])
def test_search_matches_gold(cp):
    require_corpus()
    page = load_page(cp)
    page.fetched_at = datetime(2026, 1, 1, tzinfo=KST)  # deliberately wrong: ServerTime wins
    result = daum.parse_search(page)
    gold = cp.expected
    assert (result.query, result.portal, result.total_shown) == ("손흥민", "daum", 10)
    assert search_mismatches([h.to_json() for h in result.hits], gold) == []
    # relative dates resolved against the page's own clock (ServerTime 2026-09-03 00:25:39)
    assert result.hits[0].published == "23분 전"
    assert result.hits[0].published_at == datetime(2026, 9, 3, 0, 2, 39, tzinfo=KST)
    assert result.has_next is True  # pageNavigation { totalPage: 80, currentPage: 1 }
    assert result.total_count is None  # this page prints no hit count
    assert all(h.page == 1 for h in result.hits)


@pytest.mark.parametrize("cp", SEARCHES, ids=[cp.name for cp in SEARCHES])
def test_search_comment_count_is_not_a_date(cp):
    require_corpus()
    result = daum.parse_search(load_page(cp))
    html = cp.path.read_text("utf-8")
    assert html.count("ico_comment") >= 3  # three items carry a comment count
    for hit in result.hits:
        assert hit.published and hit.published.endswith("전")
        assert hit.published_at is not None


@pytest.mark.parametrize("cp", SEARCHES, ids=[cp.name for cp in SEARCHES])
def test_search_without_clock_or_pager(cp):
    require_corpus()
    html = cp.path.read_text("utf-8")
    html = html.replace('ServerTime = "', 'ServerTimeX = "').replace("pageNavigation", "pageNavX")
    html = html.replace('class="c-list-basic"', 'class="c-list-renamed"')
    page = Page(
        url=cp.url, body=html.encode("utf-8"), fetched_at=datetime(2026, 9, 3, 1, 0, tzinfo=KST)
    )
    result = daum.parse_search(page)
    assert result.total_shown == 10  # li[data-docid] still finds the results
    assert result.has_next is None  # the page no longer says
    assert result.hits[0].published_at == datetime(2026, 9, 3, 0, 37, tzinfo=KST)  # fetched_at


def test_search_other_layout_reads_links_and_date_spans():
    """A result list without the 2026 classes: the first article link with text is the title."""
    items = "".join(
        f'<li data-docid="d{i}"><a href="http://v.daum.net/v/2024072{i}101500123"><img alt=""></a>'
        f'<div><a href="http://v.daum.net/v/2024072{i}101500123">제목 {i}</a>'
        f'<span>한빛일보</span><span><span class="ico_comment"></span> 3</span>'
        f"<span>2024.07.2{i}.</span></div></li>"
        for i in range(1, 4)
    )
    html = f'<html><body><div id="dnsColl"><ul class="list_other">{items}</ul></div></body></html>'
    page = Page(
        url="https://search.daum.net/search?w=news&q=%ED%95%9C%EB%B9%9B&p=2", body=html.encode()
    )
    result = daum.parse_search(page)
    assert [h.title for h in result.hits] == ["제목 1", "제목 2", "제목 3"]
    assert result.query == "한빛" and result.hits[0].page == 2
    assert result.hits[0].published == "2024.07.21."
    assert result.hits[0].published_at == datetime(2024, 7, 21, tzinfo=KST)
    assert result.hits[0].portal_url == result.hits[0].url
    assert result.has_next is None


# --- lists (real page of 2025-12, variants built from it at run time) -------------------------

LISTS = [cp for cp in corpus_pages("list") if cp.site == "daum-list"]
LIST_URL = "https://entertain.daum.net/news/movie"


def _list_page(html: str, url: str = LIST_URL) -> Page:
    return Page(url=url, body=html.encode("utf-8"))


def _list_html() -> str:
    require_corpus()
    return LISTS[0].path.read_text("utf-8")


@pytest.mark.parametrize("cp", LISTS, ids=[cp.name for cp in LISTS])
def test_list_links_and_next_page(cp):
    require_corpus()
    result = daum.parse_list(load_page(cp))
    assert result.links == cp.expected["links"]
    # the pager's relative "?page=2", resolved against the page URL
    assert result.next_url == "https://entertain.daum.net/news/movie?page=2"


def test_list_page_is_never_an_article():
    html = _list_html()
    with pytest.raises(NotAnArticle):
        parse_article(_list_page(html))
    with pytest.raises(NotAnArticle):
        daum.parse_article(_list_page(html))


def test_list_survives_renamed_classes_and_a_missing_main_column():
    gold = LISTS[0].expected["links"]
    html = _list_html()
    for old, new in {
        'id="mArticle"': 'id="mContent"',
        "list_news": "list_items_2027",
        "box_allnews": "box_latest",
        "tit_thumb": "item_title",
        "link_txt": "item_link",
        "link_thumb": "item_image",
    }.items():
        assert old in html
        html = html.replace(old, new)
    assert daum.parse_list(_list_page(html)).links == gold


def test_list_link_is_the_title_link_when_the_thumbnail_link_differs():
    gold = LISTS[0].expected["links"]
    html = _list_html().replace(
        f'<a href="{gold[0]}" class="link_thumb"', f'<a href="{gold[0]}?f=thumb" class="link_thumb"'
    )
    assert daum.parse_list(_list_page(html)).links == gold


def test_list_leaves_out_article_links_in_the_aside_and_ranking_boxes():
    gold = LISTS[0].expected["links"]
    side = "".join(
        f'<li><a href="https://v.daum.net/v/2025121710000000{i}">많이 본 뉴스 제목 {i}</a></li>'
        for i in range(5)
    )
    html = _list_html()
    html = html.replace('<div class="aside_g aside_ad">', f'<ul class="list_rank">{side}</ul>'
                        '<div class="aside_g aside_ad">')  # fmt: skip
    html = html.replace(
        '<div class="paging_enter">',
        f'<div class="box_g box_rank"><ol>{side}</ol></div><div class="paging_enter">',
    )
    result = daum.parse_list(_list_page(html))
    assert result.links == gold


def test_list_more_button_layout_pages_by_its_data_attributes():
    html = _list_html()
    start = html.index('<div class="paging_enter">')
    end = html.index('<div class="date_nav">')
    html = html[:start] + html[end:]  # no pager: a "more" button reads #mArticle[data-page]
    html = html.replace('data-date=""', 'data-date="20251216"')
    result = daum.parse_list(_list_page(html))
    assert result.next_url == "https://entertain.daum.net/news/movie?page=2&date=20251216"
    page3 = daum.parse_list(_list_page(html, LIST_URL + "?date=20251216&page=2"))
    assert page3.next_url == "https://entertain.daum.net/news/movie?date=20251216&page=3"


def test_list_last_page_has_no_next_and_a_page_past_the_end_is_empty_not_an_error():
    html = _list_html()
    # as page 10: the pager links pages up to 10 and none after it
    assert daum.parse_list(_list_page(html, LIST_URL + "?page=10")).next_url is None
    assert daum.parse_list(_list_page(html, LIST_URL + "?page=9")).next_url == (
        LIST_URL + "?page=10"
    )
    start, end = html.index('<ul class="list_news"'), html.index("</ul>", html.index("list_news"))
    empty = html[:start] + '<ul class="list_news"></ul>' + html[end + 5 :]
    result = daum.parse_list(_list_page(empty, LIST_URL + "?page=11"))
    assert result.links == [] and result.next_url is None


def test_list_page_without_any_list_is_a_parse_error():
    page = _list_page("<html><body><p>서비스 점검 중입니다.</p></body></html>")
    with pytest.raises(ParseError):
        daum.parse_list(page)


def _api_answer(links: list[str], has_next: bool) -> bytes:
    """A list API answer (sports.daum.net/media-api/harmony/contents.json shape) of `links`."""
    contents = [
        {"contentUrl": url, "title": f"제목 {i}", "cp": {"cpName": "한빛일보"}, "searchId": str(i)}
        for i, url in enumerate(links)
    ]
    body = {"success": True, "result": {"contents": contents, "total": 99, "hasNext": has_next}}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def test_list_api_json_answer():
    require_corpus()
    gold = LISTS[0].expected["links"]
    url = "https://sports.daum.net/media-api/harmony/contents.json?page=0&size=20"
    result = daum.parse_list(Page(url=url, body=_api_answer(gold + gold[:3], True)))
    assert result.links == gold  # once each
    assert (
        result.next_url == "https://sports.daum.net/media-api/harmony/contents.json?size=20&page=1"
    )
    assert daum.parse_list(Page(url=url, body=_api_answer(gold, False))).next_url is None
    # no contentUrl, a 17-digit contentId: Daum's article address
    by_id = json.dumps({"result": {"contents": [{"contentId": "20251217142749929"}]}}).encode()
    assert daum.parse_list(Page(url=url, body=by_id)).links == [gold[0]]
    with pytest.raises(ParseError):
        daum.parse_list(Page(url=url, body=b'{"success": false, "error": "bad request"}'))
