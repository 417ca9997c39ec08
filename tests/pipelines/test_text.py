"""The cleaning rules of GOLD.md, on our own small examples."""

from __future__ import annotations

import pytest

from pipelines.text import clean_authors, clean_body, clean_title, is_junk_paragraph


@pytest.mark.parametrize(
    "line",
    [
        "홍길동 기자 hong@example.co.kr",
        "[신윤재 기자]",
        "lkh2011@newsis.com",
        "이용민 기자",
        "Copyright ⓒ 헤럴드경제. All rights reserved. 무단 전재 및 재배포 금지.",
        "<저작권자 ⓒ 대전일보사. 무단전재-재배포 금지>",
        "저작권자(c)연합뉴스. 무단전재-재배포금지",
        "기사제공 스포티비뉴스",
        "▶ 네이버에서 뉴스를 구독하세요",
        "☞ 관련기사 보러가기",
        "최신 유행 트렌드 총집결 #흥(클릭!)",
        "[사진 출처 = 연합뉴스]",
        "사진 확대",
    ],
)
def test_junk_lines(line):
    assert is_junk_paragraph(line)


@pytest.mark.parametrize(
    "line",
    [
        "(포항=연합뉴스) 임상현 기자 = 경북 포항에서 규모 4.6의 지진이 발생했다.",
        "[헤럴드경제=한지숙 기자] 국민의힘 비상대책위원회 관련 가처분 심문기일에서",
        "◇ 김현정> 안녕하세요.",
        "감사합니다",
        "△비대위 효력정지(2차) △전국위원회 개최금지(3차)",
    ],
)
def test_article_lines_are_kept(line):
    assert not is_junk_paragraph(line)


def test_body_paragraphs_and_trailing_byline():
    body = "첫 문단이다.\n\n  둘째   문단이다.\n사진 확대\n\n마지막 문단이다. 홍길동 기자 hong@example.co.kr"
    assert clean_body(body) == "첫 문단이다.\n\n둘째 문단이다.\n\n마지막 문단이다."


def test_title_suffix_and_authors():
    assert clean_title("“반도체” 업의 본질 - 매일경제") == "“반도체” 업의 본질"
    assert clean_title("[속보] 지진 발생") == "[속보] 지진 발생"
    assert clean_authors(
        ["스포츠조선=선수민 기자", "한지숙 기자", "유현태 기자(yht@spotvnews.co.kr)", "한지숙"]
    ) == ["선수민", "한지숙", "유현태"]
