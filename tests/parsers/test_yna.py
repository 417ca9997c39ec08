"""Yonhap: the real saved section list page, our own article fixture, the shared helpers."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from crawler.domain.dates import KST
from crawler.parsers import ParseError, common, parse_article, yna
from crawler.parsers.page import Page
from tests.conftest import FIXTURES, load_page, require_corpus
from tests.corpus import corpus_pages, extract_article

LIST_PAGES = [cp for cp in corpus_pages("list") if cp.site == "yna-list"]
ARTICLE_URL = "https://www.yna.co.kr/view/AKR20260106123400003?section=economy/all"


def _fixture(name: str = "article.html") -> str:
    return (FIXTURES / "yna" / name).read_text("utf-8")


def _page(html: str, url: str = ARTICLE_URL) -> Page:
    return Page(url=url, body=html.encode("utf-8"))


# --- section list (real page) -----------------------------------------------------------------


@pytest.mark.parametrize("cp", LIST_PAGES, ids=[cp.name for cp in LIST_PAGES])
def test_list_links_are_the_main_list_exactly(cp):
    require_corpus()
    result = yna.parse_list(load_page(cp))
    assert result.links == cp.expected["links"]
    assert len(result.links) == 25
    # the popular-stories swiper links to other sections; none of its links is taken
    assert all("section=international/asia-australia" in u for u in result.links)
    assert result.next_url == "https://www.yna.co.kr/international/asia-australia/2"


@pytest.mark.parametrize("cp", LIST_PAGES, ids=[cp.name for cp in LIST_PAGES])
def test_list_survives_renamed_list_classes(cp):
    """When the box/list classes change, the `li[data-cid]` items still give the same links."""
    require_corpus()
    html = cp.path.read_text("utf-8")
    html = html.replace("box-latest01", "box-latest09").replace("list-type212", "list-type299")
    result = yna.parse_list(Page(url=cp.url, body=html.encode("utf-8")))
    assert result.links == cp.expected["links"]


def test_list_without_items_is_a_parse_error():
    with pytest.raises(ParseError):
        yna.parse_list(_page("<html><body><ul><li>없음</li></ul></body></html>"))


# --- article (own fixture) ----------------------------------------------------------------------


def test_article_fields_from_json_ld_meta_and_dom():
    item = extract_article(_page(_fixture()))
    assert item.parser == "yna.view/1"
    assert item.portal == "yna"
    assert item.url == "https://www.yna.co.kr/view/AKR20260106123400003"
    assert item.title == "항만 물동량 석 달째 늘어…컨테이너 처리 역대 최대"
    assert item.subtitle == "지난달 처리량 작년보다 6% 증가\n환적 화물이 증가세 이끌어"
    assert item.publisher == "연합뉴스"
    assert item.section == "경제"
    assert item.authors == ["박서준"]  # the Organization author is not a person
    assert item.published_at == datetime(2026, 1, 6, 16, 46, 12, tzinfo=KST)
    assert item.updated_at == datetime(2026, 1, 6, 17, 2, 40, tzinfo=KST)
    assert item.body.split("\n\n") == [
        "(세종=연합뉴스) 박서준 기자 = 전국 항만의 컨테이너 물동량이 석 달 연속 늘어 지난달 "
        "역대 최대치를 기록했다.",
        "해양수산부는 지난달 전국 항만의 컨테이너 처리량이 작년 같은 달보다 6% 늘었다고 6일 "
        "밝혔다.",
        "환적 화물이 전체 증가세를 이끌었고, 수출입 화물도 소폭 늘었다.",
    ]


def test_article_body_leaves_out_summary_caption_ads_copyright():
    body = extract_article(_page(_fixture())).body
    for junk in ("AI 요약", "자료사진", "광고", "제보는", "저작권자", "sjpark@"):
        assert junk not in body


def test_article_without_metadata_reads_the_dom():
    html = re.sub(r"<script type=\"application/ld\+json\">.*?</script>", "", _fixture(), flags=re.S)
    html = re.sub(r"<meta property=\"article:[^>]*>", "", html)
    item = yna.parse_article(_page(html))
    assert item.published_at == datetime(2026, 1, 6, 16, 46, tzinfo=KST)  # .update-time
    assert item.updated_at is None
    assert item.authors == ["박서준"]  # .writer-zone01 .tit-name


def test_article_authors_fall_back_to_the_dateline():
    html = re.sub(r"<script type=\"application/ld\+json\">.*?</script>", "", _fixture(), flags=re.S)
    html = re.sub(r"<div class=\"writer-zone01\">.*?</div></div>", "", html, flags=re.S)
    assert yna.parse_article(_page(html)).authors == ["박서준"]


def test_article_without_body_container_falls_back_to_generic():
    html = _fixture().replace('class="story-news article"', 'class="article-body-v2"')
    with pytest.raises(ParseError):
        yna.parse_article(_page(html))
    item = parse_article(_page(html))  # the registry hands the page to the generic parser
    assert item.parser.startswith("generic")
    assert "컨테이너 처리량" in item.body


# --- shared helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("(포항=연합뉴스) 임상현 기자 = 2010년 새해를 맞아", ["임상현"]),
        ("(브뤼셀=연합뉴스) 김병수 특파원 = 유럽연합(EU)은", ["김병수"]),
        ("【서울=뉴시스】이근홍 기자 = 안철수 후보는", ["이근홍"]),
        ("(서울=연합뉴스) 임형섭 고동욱 기자 = 여야는", ["임형섭", "고동욱"]),
        ("(서울=연합뉴스) 홍길동·김철수 기자 = 정부는", ["홍길동", "김철수"]),
        ("[헤럴드경제=한지숙 기자] 정부가", ["한지숙"]),
        ("정부는 6일 (서울=연합뉴스) 홍길동 기자 = 라고", []),  # not at the start
        ("홍길동 기자가 취재한 내용에 따르면", []),
    ],
)
def test_dateline_authors(text, names):
    assert common.dateline_authors(text) == names


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("이근홍", ["이근홍"]),
        ("이근홍 기자 lkh2011@newsis.com", ["이근홍"]),
        ("박준석 기자 외 1명", ["박준석"]),
        ("스포츠조선=선수민 기자", ["선수민"]),
        ("임형섭·고동욱 기자", ["임형섭", "고동욱"]),
        ("CBS 김현정의 뉴스쇼", []),  # a programme is not an author
    ],
)
def test_byline_names(text, names):
    assert common.byline_names(text) == names
