"""Search on real articles: the corpus's gold texts stored in PostgreSQL, indexed, searched.

The truth for a query is computed from the texts themselves: the articles whose title or body
contains the query as written (case-insensitive). Every query must find all of them, and no
article without the term may come back."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from db.search import find, query_terms, stream
from tests.db.factories import article
from tests.db.test_reader_role import reader_role, reader_url  # noqa: F401 - fixtures
from tests.search.corpus import corpus_articles, item, store_and_index

# Written from the corpus texts: names, two- and three-syllable nouns, a compound, Latin
# letters alone and glued to Hangul, a number glued to a word.
QUERIES = [
    "반도체", "난민", "노조", "파업", "입양", "판사", "최태원", "이재명", "트럼프", "한동훈",
    "신공항", "코로나19", "FIFA", "SK", "대통령", "경제", "뉴스",
]  # fmt: skip


@pytest.fixture
def corpus(conn: psycopg.Connection[Any], db_url: str) -> dict[int, str]:
    golds = corpus_articles()
    ids = store_and_index(conn, [item(g) for g in golds], db_url)
    return {i: (g["title"] + "\n" + g["body"]).lower() for i, g in zip(ids, golds, strict=True)}


@pytest.mark.parametrize("q", QUERIES)
def test_finds_every_article_with_the_word_and_none_without(
    conn: psycopg.Connection[Any], corpus: dict[int, str], q: str
) -> None:
    truth = {i for i, text in corpus.items() if q.lower() in text}
    assert truth, f"query {q!r} is in no corpus article: pick another"
    page = find(conn, q, limit=50)
    got = [h["id"] for h in page.hits]
    assert set(got) == truth
    assert page.estimated_total == len(truth) and page.total_exact
    assert page.next_before_id is None


def test_a_phrase_matches_the_words_in_that_order_only(
    conn: psycopg.Connection[Any], corpus: dict[int, str]
) -> None:
    phrase = "시내버스 노조"
    truth = {i for i, text in corpus.items() if phrase in text}
    assert truth
    assert {h["id"] for h in find(conn, f'"{phrase}"').hits} == truth
    # the same two words the other way round are in no article
    assert not any("노조 시내버스" in t for t in corpus.values())
    assert find(conn, '"노조 시내버스"').hits == []
    assert {h["id"] for h in find(conn, "노조 시내버스").hits} == truth  # both words, any order


def test_filters_narrow_the_matches(conn: psycopg.Connection[Any], corpus: dict[int, str]) -> None:
    everywhere = find(conn, "대통령", limit=50).hits
    publishers = {h["publisher"] for h in everywhere}
    assert len(publishers) > 1
    one = sorted(publishers)[0]
    hits = find(conn, "대통령", publisher=one, limit=50).hits
    assert hits and {h["publisher"] for h in hits} == {one}
    assert {h["id"] for h in hits} == {h["id"] for h in everywhere if h["publisher"] == one}
    # 2025-05-28 and after, up to 2025-05-30 included (KST days)
    dated = find(conn, "대통령", since="2025-05-28", until="2025-05-30", limit=50).hits
    days = {h["published_at"].astimezone(KST).date().isoformat() for h in dated}
    assert dated and days <= {"2025-05-28", "2025-05-29", "2025-05-30"}
    wanted = {
        h["id"] for h in everywhere
        if "2025-05-28" <= h["published_at"].astimezone(KST).date().isoformat() <= "2025-05-30"
    }  # fmt: skip
    assert {h["id"] for h in dated} == wanted
    assert find(conn, "대통령", section="국제", portal="mk").hits
    assert find(conn, "대통령", section="국제", portal="nowhere").hits == []


def test_a_one_syllable_noun_is_found_as_a_word_not_inside_others(
    conn: psycopg.Connection[Any], corpus: dict[int, str]
) -> None:
    # 군 (the county) stands alone in one article; others have 군수, 군무, 군청 (other words)
    alone = {i for i, t in corpus.items() if "] 군-" in t}
    inside = {i for i, t in corpus.items() if "군수" in t or "군무" in t} - alone
    assert len(alone) == 1 and inside
    got = {h["id"] for h in find(conn, "군").hits}
    assert alone <= got and not got & inside


def test_title_words_rank_first_and_snippets_show_the_word(
    conn: psycopg.Connection[Any], corpus: dict[int, str]
) -> None:
    hits = find(conn, "트럼프").hits
    assert "트럼프" in hits[0]["title"]
    assert hits[0]["rank"] > hits[-1]["rank"]
    assert all("트럼프" in h["snippet"] for h in hits)


KST = __import__("crawler.domain.dates", fromlist=["KST"]).KST


# Hand-written texts (ours) for what the corpus lacks: one- and two-syllable nouns, a
# company name inside a compound, English terms.
OWN = [
    ("검색 서비스 개편", "포털이 뉴스 검색 화면을 바꿨다. 검색어 순위는 없앴다."),
    ("삼성전자, HBM 공급 확대", "삼성전자가 AI 반도체용 HBM3E 공급을 늘린다고 밝혔다."),
    ("쌀값 안정 대책", "정부가 쌀 수매량을 늘리기로 했다. 농민들은 환영했다."),
    ("날씨", "내일은 전국에 비가 오겠다. 바람도 강하게 불겠다."),
    ("양자 역학 강의", "학생들은 컴퓨터 과학과 양자 역학을 함께 배운다."),
    ("연구 성과", "국내 연구진이 양자컴퓨터를 개발했다."),
]


@pytest.fixture
def own(conn: psycopg.Connection[Any], db_url: str) -> list[int]:
    items = [article(n, title=t, body=b) for n, (t, b) in enumerate(OWN, 1)]
    return store_and_index(conn, items, db_url)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("검색", [0]),  # two syllables: also inside 검색어, same article
        ("검색어", [0]),
        ("삼성", [1]),  # inside the compound 삼성전자
        ("삼성전자", [1]),
        ("AI", [1]),
        ("ai", [1]),
        ("hbm", [1]),  # HBM and HBM3E
        ("HBM3E", [1]),
        ("쌀", [2]),  # one syllable, a noun of its own
        ("비", [3]),
        ("반도체 공급", [1]),
        ('"HBM 공급"', [1]),
        ('"공급 HBM"', []),
        ("삼성전자가", [1]),  # the particle is not searched for
        ("전국 삼성", []),  # both words must match
        ("양자컴퓨터", [5]),  # a compound: its parts in a row, not anywhere
        ("양자 컴퓨터", [4, 5]),
        ("", None),
    ],
)
def test_short_words_compounds_and_english(
    conn: psycopg.Connection[Any], own: list[int], q: str, expected: list[int] | None
) -> None:
    page = find(conn, q)
    if expected is None:  # no query: the newest articles
        assert [h["id"] for h in page.hits] == sorted(own, reverse=True)
        return
    assert sorted(h["id"] for h in page.hits) == sorted(own[i] for i in expected)


def test_query_terms_are_what_to_highlight() -> None:
    assert query_terms("삼성전자가 HBM3E") == ["hbm3e", "삼성전자"]
    assert query_terms('"반도체 수출" 검색') == ["반도체 수출", "검색"]
    assert query_terms(None) == []


def test_paging_by_newest_and_by_relevance_sees_every_match_once(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    items = [
        article(n, title=f"검색 기사 {n}번", body=f"검색 {'검색 ' * (n % 5)}본문 {n}. 다른 이야기.")
        for n in range(1, 31)
    ]
    ids = store_and_index(conn, items, db_url)
    for n, order in enumerate(("newest", "relevance")):
        expected = sorted(ids)
        seen: list[int] = []
        before, offset = None, 0
        while True:
            page = find(conn, "검색", limit=7, before_id=before, offset=offset, order=order)
            seen += [h["id"] for h in page.hits]
            if page.next_before_id is None:
                break
            # articles stored meanwhile do not move the pages
            if len(seen) == 7:
                ids += store_and_index(conn, [article(100 + n, title=f"검색 새 기사 {n}")], db_url)
            before, offset = page.next_before_id, page.next_offset
        assert sorted(seen) == expected, order
    newest = [h["id"] for h in find(conn, "검색", limit=5, order="newest").hits]
    assert newest == sorted(ids, reverse=True)[:5]


def test_bad_arguments_are_refused(conn: psycopg.Connection[Any]) -> None:
    for kwargs in ({"limit": 0}, {"limit": 1000}, {"offset": -1}, {"order": "best"}):
        with pytest.raises(ValueError):
            find(conn, "검색", **kwargs)


def test_the_reader_role_can_search_and_stream_but_not_write(
    conn: psycopg.Connection[Any],
    db_url: str,
    reader_url: str,  # noqa: F811 - the fixture
) -> None:
    ids = store_and_index(conn, [article(1, title="반도체 수출 급증")], db_url)
    with psycopg.connect(reader_url, autocommit=True) as reader:
        assert [h["id"] for h in find(reader, "반도체").hits] == ids
        assert [r["id"] for r in stream(reader, "수출")] == ids
        assert find(reader, None).hits[0]["id"] == ids[0]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute("DELETE FROM article_search")
