"""Each way two pages can be one article, end to end through the engine into PostgreSQL:
the same URL in another shape, the same text under another URL, and the same publisher's
headline on the same day with an edited text."""

from __future__ import annotations

import psycopg
import pytest

from tests.e2e.replaykit import SECTION_ARGS, counts, crawl, last_run_stats, section_replay, variant

pytestmark = pytest.mark.e2e

MK = "mk-article/mk_society_11328184.html"
MK_URL = "https://www.mk.co.kr/news/society/11328184"
MK_TITLE = "[속보] 서울 시내버스 노조 총파업 결의…출근길 교통대란 불가피"
MK_LEAD = "서울 시내버스 노조가 28일 첫 차부터 총파업에 돌입한다."


def redeclared(url: str, extra: dict[str, str]) -> bytes:
    return variant(
        MK,
        url,
        {f'content="{MK_URL}"': f'content="{url}"', f'href="{MK_URL}"': f'href="{url}"', **extra},
    )


def urls_of_only_article(db_url: str) -> set[str]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM articles")]
        assert len(ids) == 1
        return {
            r[0]
            for r in conn.execute("SELECT url FROM article_urls WHERE article_id = %s", (ids[0],))
        }


def run_case(tmp_path, db_url, targets):
    replay = section_replay(tmp_path / "replay", targets)
    result = crawl(db_url, *SECTION_ARGS, replay=replay)
    assert result.code == 0, result.stderr[-3000:]
    return last_run_stats(db_url)


def test_same_article_under_another_url_shape(tmp_path, fresh_db):
    targets = [
        (
            "https://n.news.naver.com/mnews/article/607/0000001728",
            "naver-article/naver_607_0000001728_2023.html",
        ),
        (
            "https://n.news.naver.com/article/607/0000001728",
            "naver-article/naver_607_0000001728_2023.html",
        ),
    ]
    stats = run_case(tmp_path, fresh_db, targets)
    assert stats["store/inserted"] == 1
    assert stats["dedupe/dropped_url"] == 1
    assert {u for u, _ in targets} <= urls_of_only_article(fresh_db)


def test_same_text_under_another_url(tmp_path, fresh_db):
    mirror = "https://www.mk.co.kr/news/economy/11999999"
    targets = [
        (MK_URL, MK),
        # another address, another headline, the same body
        (mirror, redeclared(mirror, {MK_TITLE: "서울 버스 파업 결의, 출근길 대란 우려"})),
    ]
    stats = run_case(tmp_path, fresh_db, targets)
    assert stats["store/inserted"] == 1
    assert stats["dedupe/dropped_hash"] == 1
    assert {MK_URL, mirror} <= urls_of_only_article(fresh_db)
    assert counts(fresh_db)["articles"] == 1


def test_same_headline_same_publisher_same_day(tmp_path, fresh_db):
    edited = "https://www.mk.co.kr/news/society/11328999"
    targets = [
        (MK_URL, MK),
        # the same headline from the same paper that day, its lead reworded
        (edited, redeclared(edited, {MK_LEAD: "서울 시내버스 노조가 내일 첫 차부터 파업한다."})),
    ]
    stats = run_case(tmp_path, fresh_db, targets)
    assert stats["store/inserted"] == 1
    assert stats["dedupe/dropped_headline"] == 1
    assert {MK_URL, edited} <= urls_of_only_article(fresh_db)
