"""Publisher parsers and the generic parser on small hand-written pages (tests/fixtures/<site>/).

The real saved pages are scored in test_corpus.py and test_generic.py; these pin down what the
corpus does not show: a Hankook Ilbo layout nobody has seen yet (fields from metadata, or the
generic parser through the registry), V2's script JSON with two reporters, an mk page without
a deck but with a 수정 line, Chosun's promo blocks and its Arc layout, Daejon Ilbo's two
reporters and its desktop CMS, and the generic parser's own traps (comments that outweigh the
article, a client-rendered body, a page without text).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from crawler.domain.dates import KST
from crawler.domain.items import ArticleItem
from crawler.parsers import chosun, common, daejonilbo, generic, hankookilbo, mk
from crawler.parsers.page import Page, ParseError
from tests.conftest import FIXTURES
from tests.corpus import extract_article


def page(path: str, url: str) -> Page:
    return Page(url=url, body=(FIXTURES / path).read_bytes())


def kst(*args: int) -> datetime:
    return datetime(*args, tzinfo=KST)


def paras(item: ArticleItem) -> list[str]:
    return item.body.split("\n\n")


# --- Hankook Ilbo ------------------------------------------------------------------------------

HK = "https://www.hankookilbo.com/news/article/"


def test_hankookilbo_unknown_layout_falls_back_to_generic_with_a_clean_body():
    p = page("hankookilbo/unknown_layout.html", HK + "A2027010112000000001")
    with pytest.raises(ParseError):
        hankookilbo.parse_article(p)  # no V1 box, no V2 state, no editor markup
    item = extract_article(p)  # the registry hands the page to the generic parser
    assert item.parser == "generic<hankookilbo"
    assert item.portal == "hankookilbo"
    assert item.title == "가상 정책 발표에 여야 공방 격화"  # og:title without "-정치ㅣ한국일보"
    assert item.publisher == "한국일보"
    assert item.authors == ["홍가상"]
    assert item.published_at == kst(2027, 1, 1, 12, 0)
    assert paras(item) == [
        "정부가 1일 가상의 정책을 발표하자 여야가 하루 종일 날 선 공방을 이어갔다. "
        "여당은 민생을 위한 결단이라고 평가했고 야당은 졸속이라고 맞섰다.",
        "쟁점은 재원 마련",
        "핵심 쟁점은 재원이다. 정부는 기존 예산을 조정해 충당하겠다는 입장이지만, "
        "야당은 구체적인 계획이 없다고 지적했다.",
        '전문가들은 "양측 모두 숫자를 먼저 내놓아야 한다"고 말했다.',
    ]  # no caption, no byline, no related list, no footer


def test_hankookilbo_new_layout_with_editor_markup_reads_metadata():
    item = hankookilbo.parse_article(
        page("hankookilbo/meta_layout.html", HK + "A2026080112000000002")
    )
    assert item.parser == "hankookilbo.meta/1"
    assert item.title == "가상 전당대회 규칙 또 결론 못 내"
    assert item.subtitle == "첫째 부제\n둘째 부제"
    # meta says "박가상 기자 외 1명"; LD-JSON names both (GOLD.md: the full list wins)
    assert item.authors == ["박가상", "김시험"]
    assert item.published_at == kst(2026, 8, 1, 9, 5)
    assert item.updated_at == kst(2026, 8, 1, 10, 30)
    assert item.section == "정치"
    # the preview paragraph in "more news" uses the same markup but is not this article's
    assert paras(item) == [
        "가상 정당 지도부가 전당대회 규칙을 논의했으나 또 결론을 내지 못했다.",
        "회의는 10분 만에 끝나",
        "회의는 개의 10분 만에 산회했다. 참석자들은 다음 회의에서 다시 논의하기로 했다.",
        '당 관계자는 "이번 주 안에는 결론이 날 것"이라고 말했다.',
    ]


def test_hankookilbo_v2_script_json_two_writers():
    item = hankookilbo.parse_article(
        page("hankookilbo/v2_two_writers.html", HK + "A2026020112000000003")
    )
    assert item.parser == "hankookilbo.v2/1"
    assert item.title == "가상 예산안 국회 통과"
    assert item.subtitle == "여야 합의로 처리\n총액 소폭 감액"  # <br> lines, tags dropped
    assert item.authors == ["이가상", "최시험"]  # byLines, not writerDisplay's "외 1명"
    assert item.published_at == kst(2026, 2, 1, 7, 30)
    assert item.updated_at is None  # reDeployDt equal to deployDt is no update
    assert item.section == "경제"
    assert "$$ARTICLEAD$$" not in item.body
    assert paras(item) == [
        "가상 예산안이 1일 국회를 통과했다. 여야는 막판 협상 끝에 합의했다.",
        "감액 규모는",
        "감액 규모는 정부안 대비 1조 원 수준이다.",
    ]  # no caption, no writer box


# --- mk.co.kr ----------------------------------------------------------------------------------


def test_mk_page_without_deck_with_update_line_and_br_text():
    p = page("mk/no_midtitle_updated.html", "https://www.mk.co.kr/news/economy/99999999")
    item = mk.parse_article(p)
    assert item.parser == "mk.v1/1"
    assert item.subtitle is None  # no div.midtitle_text on this page
    assert item.title == "가상 반도체 수출 두 달째 증가"  # the headline box, not the sticky bar
    assert item.section == "경제"  # the visible label, not the English article:section
    assert item.published_at == kst(2025, 7, 1, 23, 58, 10)
    assert item.updated_at == kst(2025, 7, 2, 0, 4)  # the 수정 line, just past midnight
    assert [a.split()[0] for a in item.authors] == ["정가상", "한시험"]
    assert "사진 출처" not in item.body and "광고" not in item.body
    cleaned = extract_article(p)
    assert cleaned.authors == ["정가상", "한시험"]
    assert paras(cleaned) == [
        "가상 반도체 수출이 두 달 연속 늘었다.",
        "산업통상자원부는 1일 6월 수출입 동향을 발표했다.",
        "반도체 수출은 전년 대비 12% 증가했다.",
    ]  # the closing "[정가상 기자]" goes in the clean step


def test_mk_page_without_body_box_is_a_parse_error():
    p = page("generic/no_text.html", "https://www.mk.co.kr/news/photo/1")
    with pytest.raises(ParseError):
        mk.parse_article(p)


# --- Chosun ------------------------------------------------------------------------------------


def test_chosun_legacy_drops_promo_blocks_and_the_glued_byline():
    p = page(
        "chosun/legacy_promo.html",
        "https://news.chosun.com/site/data/html_dir/2020/09/01/2020090199999.html",
    )
    item = chosun.parse_article(p)
    assert item.parser == "chosun.legacy/1"
    assert item.publisher == "조선일보"  # no og:site_name; the site owner, not 스포츠조선
    assert item.updated_at == kst(2020, 9, 1, 22, 40)  # "| 수정 …" in the date line
    # the "▲ <a>" block and the link-only block are dropped by the parser itself
    assert "▲" not in item.body and "홍보" not in item.body
    assert "최가상" not in item.body  # photo caption
    cleaned = extract_article(p)
    assert cleaned.authors == ["김가상"]  # "스포츠조선=김가상 기자"
    assert paras(cleaned) == [
        "[잠실=스포츠조선 김가상 기자] 가상 구단이 5연승을 달렸다.",
        "선발 투수는 7이닝 무실점으로 호투했다.",
        "타선은 3회에만 4점을 뽑았다.",  # "잠실=김가상 기자 kim@…" glued on, cut
    ]


def test_chosun_arc_story_from_fusion_global_content():
    url = "https://www.chosun.com/politics/diplomacy/2024/03/05/ABCDEFGHIJKLMNOPQRSTUVWXYZ/"
    item = chosun.parse_article(page("chosun/arc_story.html", url + "?utm_source=x"))
    assert item.parser == "chosun.arc/1"
    assert item.url == url
    assert item.title == "가상 외교장관 회담 열려"
    assert item.subtitle == "양국 협력 강화 합의\n후속 회의는 6월"
    assert item.authors == ["김가상", "이시험"]
    assert item.published_at == kst(2024, 3, 5, 10, 0)  # first_publish_date, UTC -> KST
    assert item.updated_at == kst(2024, 3, 5, 12, 20)
    assert item.section == "정치"
    assert paras(item) == [
        "가상 양국 외교장관이 5일 서울에서 회담을 열고 협력 강화에 합의했다.",
        "공동성명 채택",
        "두 장관은 공동성명을 채택했다.",
        "후속 회의는 6월에 열린다.",
        "경제 협력 확대",
        "인적 교류 확대",
    ]  # no image caption, ad HTML, related link or pull quote


def test_chosun_page_in_neither_layout_is_a_parse_error():
    with pytest.raises(ParseError):
        chosun.parse_article(page("generic/no_text.html", "https://www.chosun.com/photo/1/"))


# --- Daejon Ilbo -------------------------------------------------------------------------------


def test_daejonilbo_mobile_two_reporters_and_the_stamp_outside_the_script():
    p = page(
        "daejonilbo/mobile_two_reporters.html", "http://m.daejonilbo.com/mnews.asp?pk_no=9999999"
    )
    item = extract_article(p)
    assert item.parser == "daejonilbo.mobile/1"
    assert item.title == "가상 과학축제 개막"
    assert item.authors == ["홍가상", "김시험"]
    # the Kakao-share script carries another date; the visible line wins
    assert item.published_at == kst(2021, 10, 8, 9, 5)
    assert paras(item) == [
        "가상 과학축제가 8일 대전에서 개막했다.",
        "축제는 오는 17일까지 열흘간 이어진다.",
    ]  # closing byline and copyright go in the clean step


def test_daejonilbo_desktop_nd_soft_layout():
    url = "https://www.daejonilbo.com/news/articleView.html?idxno=2999999"
    item = extract_article(page("daejonilbo/nd_desktop.html", url))
    assert item.parser == "daejonilbo.nd/1"
    assert item.title == "가상 도시철도 2호선 착공"
    assert item.subtitle == "2028년 개통 목표\n총사업비 1조 원"
    assert item.authors == ["정가상"]
    assert item.published_at == kst(2024, 5, 2, 17, 40)
    assert item.updated_at == kst(2024, 5, 3, 8, 10)
    assert paras(item) == [
        "가상 도시철도 2호선이 2일 착공했다.",
        "시는 2028년 개통을 목표로 공사를 진행한다.",
        "총사업비는 1조 원 규모다.",
    ]


def test_daejonilbo_other_desktop_page_goes_to_generic():
    p = page(
        "hankookilbo/unknown_layout.html", "https://www.daejonilbo.com/news/newsitem.asp?pk_no=1"
    )
    with pytest.raises(ParseError):
        daejonilbo.parse_article(p)
    assert extract_article(p).parser == "generic<daejonilbo"


# --- generic -----------------------------------------------------------------------------------


def test_generic_article_beats_a_longer_comment_section():
    p = page("generic/comments_outweigh_article.html", "https://www.example-times.kr/news/1")
    item = extract_article(p)
    assert item.parser == "generic/1"
    assert item.title == "가상 시장 선거 사전투표율 역대 최고"
    assert item.publisher == "가상타임즈"
    assert item.authors == ["윤가상"]  # meta author
    assert item.published_at == kst(2024, 4, 6, 18, 30)  # "입력 … 오후 6:30"
    assert item.updated_at == kst(2024, 4, 6, 20, 5)
    assert paras(item) == [
        "(서울=가상타임즈) 윤가상 기자 = 가상 시장 선거의 사전투표율이 역대 최고를 기록했다.",
        "선거관리위원회는 이틀간 유권자의 31%가 투표했다고 밝혔다.",
        "양측 캠프는 서로 자신들에게 유리한 결과라고 해석했다.",
    ]  # no caption box, no promo line, no reader comments


def test_generic_client_rendered_body_from_script_json():
    p = page(
        "generic/script_json_only.html", "https://news.example-bio.kr/article/777?utm_source=a"
    )
    item = extract_article(p)
    assert item.url == "https://news.example-bio.kr/article/777"  # <link rel=canonical>
    assert item.title == "가상 신약 임상 3상 성공"  # <title> minus "| 가상바이오뉴스"
    assert item.published_at == kst(2025, 2, 3, 8, 0)  # "publishedAt" in the same JSON
    assert item.updated_at == kst(2025, 2, 3, 9, 30)
    assert item.authors == ["서가상"]  # the byline box inside the embedded HTML
    assert paras(item) == [
        "가상 제약사가 개발 중인 신약이 임상 3상에서 주 평가지표를 충족했다고 3일 밝혔다.",
        "회사는 연내 품목 허가를 신청할 계획이다. 업계는 시장 규모가 크게 늘 것으로 본다.",
    ]  # no "$$AD_SLOT$$", no caption, no byline


def test_generic_page_without_text_is_a_parse_error():
    with pytest.raises(ParseError):
        generic.parse_article(page("generic/no_text.html", "https://www.example.kr/photo/1"))


@pytest.mark.parametrize(
    ("site_name", "publisher"),
    [
        ("조선닷컴", "조선일보"),
        ("동아닷컴", "동아일보"),
        ("KBS World", "KBS"),
        ("한국일보", "한국일보"),
    ],
)
def test_generic_publisher_is_the_newspapers_korean_name(site_name, publisher):
    assert common.korean_publisher(site_name) == publisher


@pytest.mark.parametrize(
    ("declared", "names", "title"),
    [
        ("기사 제목 - 매일경제", ["매일경제"], "기사 제목"),
        ("기사 제목-정치ㅣ한국일보", ["한국일보"], "기사 제목"),
        ("대전일보 모바일 :: 기사 제목", ["대전일보"], "기사 제목"),
        ("기사 제목 - 조선닷컴 - 스포츠 > 야구", ["조선일보", "조선닷컴"], "기사 제목"),
        ('"인용" 들어간 제목 | 한국일보', ["한국일보"], '"인용" 들어간 제목'),
    ],
)
def test_generic_strips_site_names_from_declared_titles(declared, names, title):
    assert common.strip_site_name(declared, names) == title


def test_generic_english_broadcast_script_and_its_sign_off():
    url = "https://world.kbs.co.kr/service/news_view.htm?lang=e&Seq_Code=999999"
    item = extract_article(page("generic/english_sign_off.html", url))
    assert item.parser == "generic/1"
    assert item.publisher == "KBS"  # "KBS WORLD", mapped to the broadcaster's name
    assert item.title == "Imaginary Port Opens New Terminal"
    assert item.authors == ["Max Lee"]  # from the sign-off; there is no byline box
    assert item.published_at == kst(2023, 11, 7, 10, 25)
    assert paras(item)[0].startswith("Anchor: An imaginary port city")  # speaker labels kept
