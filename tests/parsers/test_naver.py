"""Naver parser edge cases on small hand-written pages (tests/fixtures/naver/).

The real saved pages are scored in test_corpus.py; these pin down behaviour the corpus does not
show: several reporters, pages without a body, 오전/오후 around midnight and noon, a search page
whose hashed wrapper classes changed, relative search dates, paging signs.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from crawler.domain.dates import KST
from crawler.parsers import naver
from crawler.parsers.page import NotAnArticle, Page, ParseError
from tests.conftest import FIXTURES

DIR = FIXTURES / "naver"


def page(name: str, url: str, fetched_at: datetime | None = None) -> Page:
    return Page(url=url, body=(DIR / name).read_bytes(), fetched_at=fetched_at)


def kst(*args: int) -> datetime:
    return datetime(*args, tzinfo=KST)


# --- articles ----------------------------------------------------------------------------------


def test_mnews_fields_and_every_reporter():
    item = naver.parse_article(
        page("mnews_two_reporters.html", "https://n.news.naver.com/article/999/0000000042?sid=102")
    )
    assert item.url == "https://n.news.naver.com/mnews/article/999/0000000042"
    assert item.parser == "naver.mnews/2"  # article#dic_area
    assert item.portal == "naver"
    assert item.title == "[단독] 시험 기사 제목"
    assert item.publisher == "가상일보"
    assert item.subtitle == "첫째 요약 줄\n둘째 요약 줄"
    # the head abbreviates ("김가상 기자 외 1명"); the journalist layer names everyone
    assert item.authors == ["김가상 기자", "이시험 기자"]
    # data-date-time is KST; just after midnight stays on the same day
    assert item.published_at == kst(2024, 3, 5, 0, 7, 9)
    assert item.updated_at == kst(2024, 3, 5, 13, 30)
    assert item.original_url == "https://www.example.com/news/42"
    assert item.section == "사회"
    assert "https://n.news.naver.com/article/999/0000000042?sid=102" in item.urls
    assert item.body.split("\n\n") == [
        "[가상일보=김가상 기자] 첫 문단입니다.",
        "소제목도 문단이다",
        "둘째 문단은 문장 속 링크를 포함합니다.",  # a link inside a sentence is text
    ]  # no summary, no caption, no line that is only a promo link


def test_mnews_byline_fallback_and_visible_date():
    item = naver.parse_article(
        page("mnews_byline_only.html", "https://n.news.naver.com/mnews/article/998/0000000007")
    )
    assert item.parser == "naver.mnews/1"  # div#dic_area
    assert item.authors == ["박시험"]
    assert item.publisher == "가상방송"  # twitter:creator when there is no logo
    assert item.published_at == kst(2021, 12, 31, 23, 59)  # "오후 11:59"
    assert item.body == "본문 한 줄.\n\n본문 두 줄."


def test_press_address_in_byline_is_not_an_author():
    # mnews_byline_only with the press's own address as byline, as on the Newstapa page
    html = (DIR / "mnews_byline_only.html").read_text("utf-8")
    html = html.replace("박시험 기자 park@example.com", "가상방송 webmaster@example.com")
    item = naver.parse_article(
        Page(url="https://n.news.naver.com/mnews/article/998/0000000007", body=html.encode())
    )
    assert item.authors == []


def test_photo_only_post_is_not_an_article():
    with pytest.raises(NotAnArticle):
        naver.parse_article(
            page("mnews_photo_only.html", "https://n.news.naver.com/mnews/article/997/0000000001")
        )


def test_deleted_page_is_not_an_article():
    with pytest.raises(NotAnArticle):
        naver.parse_article(
            page("deleted.html", "https://n.news.naver.com/mnews/article/997/0000000009")
        )


def test_unknown_article_layout_is_a_parse_error_not_a_skip():
    # the registry hands ParseError (but not NotAnArticle) to the generic parser
    with pytest.raises(ParseError) as e:
        naver.parse_article(
            page("unknown_layout.html", "https://n.news.naver.com/mnews/article/996/0000000002")
        )
    assert not isinstance(e.value, NotAnArticle)
    assert e.value.url.endswith("/996/0000000002")


def test_readnaver_am_pm_and_promo_link():
    url = "https://news.naver.com/main/read.naver?mode=LSD&mid=sec&oid=995&aid=0000000003&sid1=101"
    item = naver.parse_article(page("readnaver_ampm.html", url))
    assert item.parser == "naver.readnaver/1"
    assert item.url == "https://n.news.naver.com/mnews/article/995/0000000003"
    assert item.urls == [url]
    assert item.published_at == kst(2016, 12, 31, 0, 5)  # 오전 12:05 is just after midnight
    assert item.updated_at == kst(2016, 12, 31, 12, 30)  # 오후 12:30 is just after noon
    assert item.publisher == "가상통신"
    assert item.section == "경제"  # me2:category2 when the page shows no label
    assert item.authors == ["최가상"]
    assert item.original_url == "https://www.example.com/orig/3"
    assert item.body == "(서울=가상통신) 첫 문단.\n\n둘째 문단."  # no script, no promo line


def test_old_sports_layout_stops_at_naver_furniture():
    url = "https://sports.news.naver.com/news?oid=994&aid=0000000004"
    item = naver.parse_article(page("sports_old.html", url))
    assert item.parser == "naver.sports/1"
    assert item.url == "https://n.news.naver.com/mnews/article/994/0000000004"
    assert item.title == "가상 구단, 연장 끝에 승리"
    assert item.publisher == "가상스포츠"
    assert item.authors == ["정시험"]
    assert item.published_at == kst(2019, 7, 1, 21, 41)
    assert item.updated_at == kst(2019, 7, 2, 8, 0)
    assert item.section == "야구"
    assert item.body == "[가상스포츠=정시험 기자] 첫 문단.\n\n둘째 문단."


def test_mobile_sports_page_is_read_from_container_and_metadata():
    url = "https://m.sports.naver.com/kbaseball/article/993/0000000005"
    item = naver.parse_article(page("mobile_sports.html", url))
    assert item.parser == "naver.mobile/1"
    assert item.url == "https://n.news.naver.com/mnews/article/993/0000000005"
    assert item.title == "모바일 스포츠 기사 제목"
    assert item.publisher == "가상일간"
    assert item.published_at == kst(2024, 5, 1, 19, 2, 3)
    assert item.body == "첫 문단입니다.\n\n둘째 문단입니다."


def test_client_rendered_entertainment_page_goes_to_the_generic_parser():
    with pytest.raises(ParseError) as e:
        naver.parse_article(
            page(
                "mobile_entertain_shell.html",
                "https://m.entertain.naver.com/article/992/0000000006",
            )
        )
    assert not isinstance(e.value, NotAnArticle)


# --- search ------------------------------------------------------------------------------------


def test_search_with_renamed_wrappers_and_nested_cluster():
    result = naver.parse_search(
        page(
            "search_renamed_wrappers.html",
            "https://search.naver.com/search.naver?where=news&query=x",
            fetched_at=kst(2030, 1, 1),  # the page's own clock wins
        )
    )
    assert result.query == "가상 검색어"
    assert result.portal == "naver"
    # the related article nested in the first result is not a result of its own
    assert [h.title for h in result.hits] == [
        "가상 첫 결과 제목",
        "둘째 결과 제목",
        "셋째 결과 제목...",
    ]
    assert [h.rank for h in result.hits] == [1, 2, 3]
    first, second, third = result.hits
    assert first.url == "https://www.example.com/news/10"
    assert first.portal_url == "https://n.news.naver.com/mnews/article/991/0000000010?sid=101"
    assert first.publisher == "가상일보"
    assert first.published == "3시간 전"  # not the print position "A19면 1단"
    assert first.published_at == kst(2026, 1, 10, 6, 30)
    assert first.snippet == "첫 결과 요약..."
    # no press name text: the logo's alt ("가상연예의 프로필 이미지") names the press
    assert second.publisher == "가상연예"
    assert second.portal_url == "https://m.entertain.naver.com/article/990/0000000011"
    assert second.published_at == kst(2026, 1, 8, 9, 30)
    assert third.portal_url is None and third.snippet is None
    assert third.published_at == kst(2025, 12, 31)
    assert result.has_next is True  # the infinite-scroll loader asks for start=11
    assert result.total_count is None


def test_search_legacy_paging_and_query_from_script():
    result = naver.parse_search(
        page(
            "search_legacy_paging.html",
            "https://search.naver.com/search.naver?where=news&query=y&start=11",
            fetched_at=kst(2024, 2, 29, 12, 0),
        )
    )
    assert [h.page for h in result.hits] == [2, 2]  # start=11 is the second page of ten
    assert result.query == '마지막 "쪽"'  # <title> has no term; g_query does
    assert result.has_next is False  # the next button is disabled
    assert result.total_count == 2
    assert [h.published_at for h in result.hits] == [kst(2024, 2, 29, 11, 59), kst(2024, 2, 22, 12)]


def test_search_without_paging_sign_says_none():
    result = naver.parse_search(
        page("search_no_sign.html", "https://search.naver.com/search.naver?where=news&query=z")
    )
    assert result.has_next is None
    assert result.hits[0].published == "어제"
    assert result.hits[0].published_at is None  # no crawl time to resolve it against


def test_search_page_past_the_last_result_ends_paging():
    html = (DIR / "search_renamed_wrappers.html").read_text("utf-8")
    start, end = html.index("<li"), html.rindex("</li>") + len("</li>")
    empty = html[:start] + html[end:]  # the scroll loader's URL is still in the page
    result = naver.parse_search(
        Page(url="https://search.naver.com/search.naver?where=news&start=3991", body=empty.encode())
    )
    assert result.hits == [] and result.has_next is False


# --- lists -------------------------------------------------------------------------------------


def test_list_links_and_next_page_after_a_page_group():
    url = "https://news.naver.com/main/list.naver?mode=LS2D&mid=shm&sid1=100&sid2=264&page=10"
    result = naver.parse_list(page("list_paged.html", url))
    assert result.links == [
        "https://news.naver.com/main/read.naver?mode=LS2D&mid=shm&sid1=100&sid2=264&oid=989&aid=0000000021",
        "https://news.naver.com/main/read.naver?mode=LS2D&mid=shm&sid1=100&sid2=264&oid=988&aid=0000000022",
    ]
    # page 10 is the last of its group of numbers: "다음" leads to page 11
    assert result.next_url == (
        "https://news.naver.com/main/list.naver?mode=LS2D&sid2=264&mid=shm&sid1=100&date=20170101&page=11"
    )


def test_section_list_of_the_2023_layout():
    result = naver.parse_list(page("list_section_2023.html", "https://news.naver.com/section/100"))
    assert result.links == [
        "https://n.news.naver.com/mnews/article/986/0000000031?sid=100",
        "https://n.news.naver.com/mnews/article/985/0000000032?sid=100",
    ]  # the thumbnail repeats the first link and is not counted twice
    assert result.next_url is None


def test_a_page_without_a_list_is_a_parse_error():
    with pytest.raises(ParseError):
        naver.parse_list(page("deleted.html", "https://news.naver.com/main/home.naver"))
