"""Highlighting and the comparison of versions (crawler/web/text.py), on plain strings."""

from __future__ import annotations

from crawler.web.text import Piece, compare, highlight


def test_highlight_escapes_marks_every_term_and_joins_touching_ones() -> None:
    html = str(highlight("<b>전기버스</b> 300대, 버스 회사 AI", ["전기", "버스", "ai"]))
    assert html == (
        "&lt;b&gt;<mark>전기버스</mark>&lt;/b&gt; 300대, <mark>버스</mark> 회사 <mark>AI</mark>"
    )
    assert str(highlight("삼성전자와 삼성", ["삼성", "삼성전자"])) == (
        "<mark>삼성전자</mark>와 <mark>삼성</mark>"
    )
    assert str(highlight("a < b", [])) == "a &lt; b"


def test_compare_names_paragraphs_added_removed_and_words_changed() -> None:
    old = "첫 문단.\n\n둘째 문단은 300억원이다."
    new = "첫 문단.\n\n둘째 문단은 350억원이다."
    assert compare(old, new) == [
        [Piece("same", "첫 문단.")],
        [Piece("same", "둘째 문단은 "), Piece("removed", "300억원이다."),
         Piece("added", "350억원이다.")],
    ]  # fmt: skip
    assert compare("가.\n나.\n다.", "가.\n새.\n다.\n") == [
        [Piece("same", "가.")],
        [Piece("removed", "나."), Piece("added", "새.")],
        [Piece("same", "다.")],
    ]
    assert compare("가.\n나.", "가.\n끼운 문단.\n나.") == [
        [Piece("same", "가.")],
        [Piece("added", "끼운 문단.")],
        [Piece("same", "나.")],
    ]
    assert compare("가.\n나.", "가.") == [[Piece("same", "가.")], [Piece("removed", "나.")]]
