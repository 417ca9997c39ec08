"""Seoul Shinmun: our own fixtures (no real page of the site exists; see fixtures/seoul/CONFIDENCE.md).

The search tests also rewrite the fixture's markup (class names renamed or removed, another
list shape, a sidebar) to check that the parser reads results by their links and structure,
since none of the class names is confirmed.
"""

from __future__ import annotations

import re
import zlib
from datetime import datetime

import pytest

from crawler.domain.dates import KST
from crawler.parsers import NotAnArticle, ParseError, parse_article, parse_list, parse_search, seoul
from crawler.parsers.page import Page
from tests.conftest import FIXTURES
from tests.corpus import extract_article

SEARCH_URL = (
    "https://search.seoul.co.kr/index.php?keyword=%EC%97%94%EB%B9%84%EB%94%94%EC%95%84&page=1"
)
ARTICLE_URL = "https://www.seoul.co.kr/news/society/traffic/2026/01/06/20260106500123"
CHROME = ("찾아보고 싶은 뉴스가 있다면", "검색", "최근검색어", "검색기록 지우기", "저장된 검색어가 없습니다",
          "검색어 저장 기능이 꺼져 있습니다", "검색어 저장 끄기", "전체삭제", "위로", "1,619", "2026-01-27",
          "출산율", "광화문", "미세먼지")  # fmt: skip


def _html(name: str) -> str:
    return (FIXTURES / "seoul" / name).read_text("utf-8")


def _search(html: str, url: str = SEARCH_URL):
    return seoul.parse_search(Page(url=url, body=html.encode("utf-8")))


def _renamed(html: str) -> str:
    """Every class name replaced by a meaningless one (the same name for the same class)."""
    return re.sub(
        r'class="([^"]*)"', lambda m: f'class="c{zlib.crc32(m.group(1).encode()) % 9973}"', html
    )


def _classless(html: str) -> str:
    return re.sub(r' class="[^"]*"', "", html)


# --- search -------------------------------------------------------------------------------------


def test_search_reads_20_results_without_chrome():
    result = parse_search(Page(url=SEARCH_URL, body=_html("search_nvidia_p1.html").encode()))
    assert result.portal == "seoul" and result.query == "엔비디아"
    assert result.total_shown == 20
    assert result.total_count == 1619
    assert result.has_next is True
    assert [h.rank for h in result.hits] == list(range(1, 21))
    for hit in result.hits:
        assert hit.title and hit.snippet and hit.publisher == "서울신문" and hit.page == 1
        assert not any(c == hit.title or c in hit.title for c in CHROME if len(c) > 2)
        assert hit.title not in hit.snippet  # the headline shown twice is taken once, as title
        assert seoul.ARTICLE_URL.match(hit.url)
    assert len({h.url for h in result.hits}) == 20


def test_search_titles_and_links_as_shown():
    hits = _search(_html("search_nvidia_p1.html")).hits
    assert hits[0].title == "“반도체는 결국 사람 싸움… 젊은 설계자에게 길 열어줘야” [월요인터뷰]"
    assert hits[0].url == "https://www.seoul.co.kr/news/economy/industry/2024/09/02/20240902500101"
    assert hits[11].title == "[차상균의 혁신의 세계] 두 강대국 사이에 선 한국 AI"
    assert hits[17].url == "https://go.seoul.co.kr/news/newsView.php?id=20240813500045"  # sub-brand
    assert hits[1].snippet.startswith("좋은 실적을 내고도 주가가 빠지는 일이 반복되고 있습니다.")


def test_search_dates_come_from_the_url_when_not_shown():
    hits = _search(_html("search_nvidia_p1.html")).hits
    assert all(h.published is None for h in hits)  # the page shows no date
    assert hits[0].published_at == datetime(2024, 9, 2, tzinfo=KST)
    assert hits[17].published_at == datetime(2024, 8, 13, tzinfo=KST)  # from the newsView id


@pytest.mark.parametrize("rewrite", [_renamed, _classless], ids=["renamed", "classless"])
def test_search_survives_unknown_class_names(rewrite):
    want = [h.to_json() for h in _search(_html("search_nvidia_p1.html")).hits]
    result = _search(rewrite(_html("search_nvidia_p1.html")))
    assert [h.to_json() for h in result.hits] == want
    assert result.total_count == 1619
    assert result.has_next is True


def test_search_structure_ignores_a_sidebar_of_article_links():
    sidebar = (
        "<aside><h3>많이 본 뉴스</h3><ol>"
        + "".join(
            f'<li><a href="https://www.seoul.co.kr/news/society/2024/09/0{i}/2024090{i}500001">'
            f"많이 본 기사 {i}</a></li>"
            for i in range(1, 6)
        )
        + "</ol></aside>"
    )
    html = _classless(_html("search_nvidia_p1.html")).replace('<a href="#">위로</a>', sidebar)
    result = _search(html)
    assert result.total_shown == 20
    assert not any("많이 본" in h.title for h in result.hits)


def test_search_structure_with_divs_lead_inside_the_link_and_a_shown_date():
    items = "".join(
        f'<div><a href="/news/economy/2024/08/2{i}/2024082{i}50010{i}"><span>제목 {i}번 기사</span>'
        f"<p>요약문 {i}번입니다.<br>둘째 줄입니다.</p></a><span>2024-08-2{i} 1{i}:05</span></div>"
        for i in range(1, 4)
    )
    html = f"<html><body><div>검색결과 <b>3</b>건</div><div>{items}</div></body></html>"
    result = _search(html, "https://search.seoul.co.kr/index.php?keyword=x&page=1")
    assert [h.title for h in result.hits] == ["제목 1번 기사", "제목 2번 기사", "제목 3번 기사"]
    assert result.hits[0].url == "https://www.seoul.co.kr/news/economy/2024/08/21/20240821500101"
    assert result.hits[0].snippet == "요약문 1번입니다. 둘째 줄입니다."
    assert result.hits[0].published == "2024-08-21 11:05"
    assert result.hits[0].published_at == datetime(2024, 8, 21, 11, 5, tzinfo=KST)
    assert result.total_count == 3
    assert result.has_next is False  # 3 hits in all, one page


def test_search_has_next_from_paging_or_count():
    html = _html("search_nvidia_p1.html")
    last = html.replace("page=2", "page=80").replace("page=3", "page=81")
    assert _search(last, SEARCH_URL.replace("page=1", "page=82")).has_next is False
    no_pager = re.sub(r'<div class="paging">.*?</div>', "", html, flags=re.S)
    assert _search(no_pager, SEARCH_URL.replace("page=1", "page=80")).has_next is True  # 1600<1619
    assert _search(no_pager, SEARCH_URL.replace("page=1", "page=81")).has_next is False
    no_count = no_pager.replace('<span class="count">1,619</span>', "")
    result = _search(no_count)
    assert result.total_count is None and result.has_next is None


def test_search_without_results():
    html = "<html><body><p>검색 결과가 없습니다.</p><a href='#'>위로</a></body></html>"
    result = _search(html)
    assert result.hits == [] and result.has_next is False


# --- article ------------------------------------------------------------------------------------


def test_article_fields():
    page = Page(
        url=ARTICLE_URL.replace("www.", "m.") + "?cp=seoul", body=_html("article.html").encode()
    )
    item = extract_article(page)
    assert item.parser == "seoul.view/1" and item.portal == "seoul"
    assert item.url == ARTICLE_URL  # host to www, query dropped
    assert item.publisher == "서울신문"
    assert item.title == "지하철 막차 30분 연장…심야 귀갓길 숨통"
    assert item.subtitle == "시, 3월부터 2·5·7호선 시범 운행\n심야버스 노선도 4개 늘려"
    assert item.authors == ["윤다은"]
    assert item.section == "사회"
    assert item.published_at == datetime(2026, 1, 6, 13, 23, tzinfo=KST)
    assert item.updated_at == datetime(2026, 1, 6, 15, 40, tzinfo=KST)


def test_article_body_is_the_text_only():
    body = extract_article(Page(url=ARTICLE_URL, body=_html("article.html").encode())).body
    paras = body.split("\n\n")
    assert paras[0] == "서울 지하철 2·5·7호선의 막차 시간이 오는 3월부터 30분 늦춰진다."
    assert "심야버스 4개 노선 신설" in paras  # in-body subhead h2.stit kept
    assert paras[-1].endswith("결정하겠다”고 말했다.")
    for junk in ("Copyright", "무단 전재", "10면", "서울신문 DB", "이미지 확대", "세줄 요약",
                 "AI 퀴즈", "MBTI", "googletag", "윤다은 기자", "3월부터 2·5·7호선 시범 운행",
                 "기사 읽어주기", "댓글 0"):  # fmt: skip
        assert junk not in body, junk


def test_article_prefers_json_ld_and_meta_dates():
    ld = (
        '<script type="application/ld+json">{"@type":"NewsArticle","headline":"x",'
        '"datePublished":"2026-01-06T13:23:45+09:00","dateModified":"2026-01-06T13:23:45+09:00",'
        '"author":{"@type":"Person","name":"윤다은 기자"}}</script></head>'
    )
    html = (
        _html("article.html")
        .replace("</head>", ld)
        .replace('<span class="updateInfo', '<span class="x')
    )
    item = seoul.parse_article(Page(url=ARTICLE_URL, body=html.encode()))
    assert item.published_at == datetime(2026, 1, 6, 13, 23, 45, tzinfo=KST)  # seconds from LD
    assert item.updated_at is None  # metadata equal to the publication time is no update
    assert item.title == "지하철 막차 30분 연장…심야 귀갓길 숨통"  # the visible headline


def test_article_reporter_falls_back_to_the_byline_in_the_body():
    html = re.sub(r'<div class="reporterInfo">.*?</div>', "", _html("article.html"))
    assert seoul.parse_article(Page(url=ARTICLE_URL, body=html.encode())).authors == ["윤다은"]


def test_article_without_body_falls_back_to_generic():
    html = _html("article.html").replace("viewContent body18", "newBodyClass body18")
    page = Page(url=ARTICLE_URL, body=html.encode())
    with pytest.raises(ParseError):
        seoul.parse_article(page)
    item = parse_article(page)
    assert item.parser.startswith("generic")
    assert "막차" in item.body


def test_url_date():
    assert seoul.url_date(ARTICLE_URL) == datetime(2026, 1, 6, tzinfo=KST)
    assert seoul.url_date("https://www.seoul.co.kr/newsList/society/") is None


def test_search_class_path_reads_a_shown_date():
    html = _html("search_nvidia_p1.html").replace(
        '<div class="body16 color600">반도체 설계',
        '<div class="ArticleInfo"><span class="body14">2024-09-02 09:10</span></div>'
        '<div class="body16 color600">반도체 설계',
        1,
    )
    hit = _search(html).hits[0]
    assert hit.published == "2024-09-02 09:10"
    assert hit.published_at == datetime(2024, 9, 2, 9, 10, tzinfo=KST)
    assert hit.snippet.startswith("반도체 설계")


# --- section lists (own fixture; CONFIDENCE.md) -------------------------------------------------

LIST_URL = "https://www.seoul.co.kr/newsList/economy/"


def _list_html() -> str:
    return (FIXTURES / "seoul" / "list_economy_p1.html").read_text("utf-8")


def _list(html: str, url: str = LIST_URL):
    return seoul.parse_list(Page(url=url, body=html.encode("utf-8")))


def _list_gold() -> list[str]:
    hrefs = re.findall(r'<div class="articleTitle"><a href="([^"]+)"', _list_html())
    return ["https://www.seoul.co.kr" + h for h in hrefs]


def test_list_links_in_order_without_the_most_read_box():
    result = parse_list(Page(url=LIST_URL, body=_list_html().encode("utf-8")))
    gold = _list_gold()
    assert len(gold) == 10 and result.links == gold
    assert not any("/2026/01/04/" in u for u in result.links)  # the "많이 본 뉴스" box
    assert result.next_url == LIST_URL + "?page=2"


@pytest.mark.parametrize(
    "rewrite",
    [
        {"newsBox_row1": "item", "sectionContentWrap": "list", "articleTitle": "t", "h28": "x"},
        {' class="newsBox_row1"': "", ' class="sectionContentWrap"': "", "<aside": "<div",
         "</aside>": "</div>"},
    ],
    ids=["renamed", "classless"],
)  # fmt: skip
def test_list_read_by_structure_when_the_classes_change(rewrite):
    html = _list_html()
    for old, new in rewrite.items():
        assert old in html
        html = html.replace(old, new)
    assert _list(html).links == _list_gold()


def test_list_paging_from_the_pager_or_the_address_form():
    html = _list_html()
    assert _list(html, LIST_URL + "?page=9").next_url == LIST_URL + "?page=10"
    assert _list(html, LIST_URL + "?page=11").next_url is None  # the pager goes no further
    start, end = html.index('<div class="pagination">'), html.index("</main>")
    no_pager = html[:start] + html[end:]
    assert _list(no_pager, LIST_URL + "?page=3").next_url == LIST_URL + "?page=4"


def test_list_page_is_not_an_article_and_a_page_without_a_list_is_a_parse_error():
    page = Page(url=LIST_URL, body=_list_html().encode("utf-8"))
    with pytest.raises(NotAnArticle):
        parse_article(page)
    with pytest.raises(ParseError):
        _list("<html><body><p>페이지를 찾을 수 없습니다.</p></body></html>")
