"""Storing articles and search hits against a real PostgreSQL: the database decides."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest

from crawler.domain.keys import with_keys
from db import batch as articles
from db.articles import (
    article_urls,
    article_versions,
    get_article,
    search_hits,
    store_article,
    store_articles,
    store_search_hits,
)
from db.crawl_runs import start_run
from tests.db.factories import (
    BODY,
    KST,
    NOON,
    OTHER_BODY,
    article,
    daum_url,
    hit,
    naver_url,
    original_url,
    random_text,
)

Conn = psycopg.Connection[Any]


def count(conn: Conn, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def counts(conn: Conn) -> dict[str, int]:
    tables = ("articles", "article_urls", "article_versions", "search_hits")
    return {t: count(conn, t) for t in tables}


def test_insert_then_same_url_again_is_unchanged(conn: Conn) -> None:
    first = store_article(conn, article(1))
    assert first.outcome == "inserted" and first.urls_added == 1
    again = store_article(conn, article(1))
    assert (again.article_id, again.outcome, again.urls_added) == (first.article_id, "unchanged", 0)
    row = get_article(conn, first.article_id)
    assert row is not None and row.version == 1 and row.cluster_id == row.id
    assert row.last_seen_at > row.first_seen_at
    assert row.headline_key == "기사제목1번" and row.simhash is not None
    assert article_versions(conn, row.id) == []


def test_same_text_under_another_url_is_dropped_and_recorded(conn: Conn) -> None:
    first = store_article(conn, article(1, body=BODY))
    copy = store_article(conn, article(2, body=BODY, title="다른 제목"))
    assert (copy.article_id, copy.outcome, copy.urls_added) == (first.article_id, "dropped_hash", 1)
    assert count(conn, "articles") == 1
    urls = {u.url for u in article_urls(conn, first.article_id)}
    assert urls == {naver_url(1), naver_url(2)}
    # whitespace differences are the same text
    rewrapped = store_article(conn, article(3, body=BODY.replace(". ", ".\n\n  ")))
    assert rewrapped.outcome == "dropped_hash"


def test_same_headline_same_publisher_same_kst_day_is_dropped(conn: Conn) -> None:
    first = store_article(conn, article(1, title="[속보] 서울 아파트값 6주 연속 상승"))
    evening = NOON.replace(hour=23, minute=50)
    dup = store_article(
        conn, article(2, title="서울 아파트값, 6주 연속 '상승'", published_at=evening)
    )
    assert (dup.article_id, dup.outcome) == (first.article_id, "dropped_headline")
    # the next day in Korea is another window, even if only 20 minutes later
    next_day = store_article(
        conn,
        article(
            3, title="서울 아파트값 6주 연속 상승", published_at=evening + timedelta(minutes=20)
        ),
    )
    assert next_day.outcome == "inserted"
    other_publisher = store_article(
        conn, article(4, title="서울 아파트값 6주 연속 상승", publisher="뉴시스")
    )
    assert other_publisher.outcome == "inserted"
    assert count(conn, "articles") == 3


def test_naver_daum_and_original_end_as_one_article(conn: Conn) -> None:
    n, d, o = naver_url(7), daum_url(7), original_url(7)
    on_naver = store_article(conn, article(7, body=BODY, original_url=o))
    on_daum = store_article(
        conn, article(70, url=d, portal="daum", body=BODY + " 다음 뉴스 제공", original_url=o)
    )
    at_publisher = store_article(conn, article(700, url=o, portal="yna", body=BODY + " 끝"))
    assert [r.outcome for r in (on_naver, on_daum, at_publisher)] == [
        "inserted",
        "dropped_url",
        "dropped_url",
    ]
    assert {r.article_id for r in (on_naver, on_daum, at_publisher)} == {on_naver.article_id}
    assert count(conn, "articles") == 1
    urls = article_urls(conn, on_naver.article_id)
    assert {u.url for u in urls} == {n, d, o}
    assert [u.url for u in urls if u.is_canonical] == [n]
    # the article keeps the first text; a copy is not a new version
    row = get_article(conn, on_naver.article_id)
    assert row is not None and row.body == BODY and row.version == 1
    # each address now has its own text on record: a re-crawl of any of them is unchanged
    for item in (
        article(7, body=BODY, original_url=o),
        article(70, url=d, portal="daum", body=BODY + " 다음 뉴스 제공", original_url=o),
        article(700, url=o, portal="yna", body=BODY + " 끝"),
    ):
        assert store_article(conn, item).outcome == "unchanged"


def test_changed_text_at_same_url_is_a_new_version(conn: Conn) -> None:
    first = store_article(conn, article(1, body=BODY, title="첫 제목"))
    edited = BODY.replace("0.08%", "0.09%")
    update = store_article(conn, article(1, body=edited, title="고친 제목"))
    assert (update.article_id, update.outcome) == (first.article_id, "updated")
    row = get_article(conn, first.article_id)
    assert row is not None
    assert (row.version, row.body, row.title) == (2, edited, "고친 제목")
    assert row.updated_at is not None
    (old,) = article_versions(conn, first.article_id)
    assert (old.version, old.body, old.title) == (1, BODY, "첫 제목")
    assert store_article(conn, article(1, body=edited, title="고친 제목")).outcome == "unchanged"
    assert count(conn, "article_versions") == 1
    third = store_article(conn, article(1, body=edited + " 추가", title="고친 제목"))
    assert third.outcome == "updated"
    assert [v.version for v in article_versions(conn, first.article_id)] == [1, 2]


def test_update_to_another_articles_text_is_refused(conn: Conn) -> None:
    a = store_article(conn, article(1, body=BODY))
    b = store_article(conn, article(2, body=OTHER_BODY))
    clash = store_article(conn, article(1, body=OTHER_BODY))
    assert (clash.article_id, clash.outcome) == (a.article_id, "dropped_hash")
    assert get_article(conn, a.article_id).body == BODY  # type: ignore[union-attr]
    assert get_article(conn, b.article_id).version == 1  # type: ignore[union-attr]


def test_search_hits_upsert_and_link(conn: Conn) -> None:
    o = original_url(3)
    hits = [
        hit("반도체", 1, o, portal_url=naver_url(3)),
        hit("반도체", 2, original_url(4)),
    ]
    ids = store_search_hits(conn, hits, crawl_run_id=None)
    assert len(ids) == 2
    assert all(h.article_id is None for h in search_hits(conn))
    stored = store_article(conn, article(3, body=BODY))  # reached by its Naver copy only
    assert stored.hits_linked == 1
    linked = {h.url: h.article_id for h in search_hits(conn)}
    assert linked == {o: stored.article_id, original_url(4): None}
    # the same crawl again adds nothing; a new rank is an update
    again = store_search_hits(
        conn, [dataclasses.replace(hits[0], rank=5), hits[1]], crawl_run_id=None
    )
    assert again == ids
    assert count(conn, "search_hits") == 2
    first = next(h for h in search_hits(conn) if h.url == o)
    assert first.rank == 5 and first.article_id == stored.article_id
    # a hit on an article already stored is linked at once
    store_search_hits(conn, [hit("부동산", 1, naver_url(3))], crawl_run_id=None)
    assert {h.query: h.article_id for h in search_hits(conn)}["부동산"] == stored.article_id


def test_second_identical_store_adds_no_rows(conn: Conn) -> None:
    items = [article(i, original_url=original_url(i)) for i in range(1, 6)]
    hits = [hit("q", i, original_url(i)) for i in range(1, 6)]
    store_search_hits(conn, hits, crawl_run_id=None)
    store_articles(conn, items)
    before = counts(conn)
    assert before == {"articles": 5, "article_urls": 10, "article_versions": 0, "search_hits": 5}
    store_search_hits(conn, hits, crawl_run_id=None)
    results = store_articles(conn, items)
    assert {r.outcome for r in results} == {"unchanged"}
    assert counts(conn) == before


def test_near_duplicates_share_a_cluster(conn: Conn) -> None:
    first = store_article(conn, article(1, body=BODY))
    edited = BODY.replace("상승세를", "오름세를")
    near = store_article(conn, article(2, body=edited, title="다른 제목 2"))
    unrelated = store_article(conn, article(3, body=OTHER_BODY, title="다른 제목 3"))
    late = store_article(
        conn,
        article(
            4, body=edited + " 다시", title="다른 제목 4", published_at=NOON + timedelta(days=10)
        ),
    )
    assert near.outcome == "inserted" and near.cluster_id == first.article_id
    assert unrelated.cluster_id == unrelated.article_id
    assert late.cluster_id == late.article_id  # outside the 3-day window
    wide = store_article(
        conn, article(5, body=edited + " 또", title="다른 제목 5"), cluster_distance=8
    )
    assert wide.cluster_id == first.article_id  # the unbanded path finds it too


def test_batch_gives_the_outcomes_of_one_by_one(conn: Conn, db_url: str) -> None:
    o = original_url(50)
    items = [
        article(1, body=BODY),
        article(2),
        article(1, body=BODY),  # same URL again: unchanged
        article(3, body=BODY),  # same text: dropped_hash
        article(4, title="기사 제목 2번"),  # same headline as 2: dropped_headline
        article(50, original_url=o),
        article(51, url=daum_url(50), portal="daum", original_url=o),  # alias: dropped_url
        article(1, body=BODY + " 고침"),  # new text at a fetched URL: updated
        article(6, body=BODY.replace("상승세를", "오름세를")),  # near-duplicate of 1
        article(7),
        article(8),
    ]
    batched = store_articles(conn, items)
    rows_batched = counts(conn)
    conn.execute("TRUNCATE articles, article_urls, article_versions RESTART IDENTITY CASCADE")
    one_by_one = [store_article(conn, it) for it in items]
    assert [r.outcome for r in batched] == [r.outcome for r in one_by_one]
    assert [r.urls_added for r in batched] == [r.urls_added for r in one_by_one]
    assert counts(conn) == rows_batched

    def groups(results: list[Any]) -> list[int]:  # article ids renumbered by first appearance
        order: dict[int, int] = {}
        return [order.setdefault(r.article_id, len(order)) for r in results]

    assert groups(batched) == groups(one_by_one)
    near, first = batched[8], batched[0]
    assert near.cluster_id == first.article_id


def test_big_batch_of_new_articles_takes_the_fast_path(conn: Conn) -> None:
    items = [article(i, original_url=original_url(i)) for i in range(200)]
    items[1] = article(1, authors=[], publisher=None, published_at=None, subtitle="부제")
    items[2] = article(2, published_at=datetime(2026, 11, 24, 23, 30))  # no offset: KST
    store_search_hits(conn, [hit("q", 1, original_url(5))], crawl_run_id=None)
    results = store_articles(conn, items)
    assert [r.outcome for r in results] == ["inserted"] * 200
    assert [r.urls_added for r in results] == [2, 1, 1] + [2] * 197
    assert [r.hits_linked for r in results][4:6] == [0, 1]
    ids = [r.article_id for r in results]
    assert len(set(ids)) == 200
    assert counts(conn)["article_urls"] == 398
    second = get_article(conn, ids[1])
    assert second is not None and (second.authors, second.subtitle) == ([], "부제")
    third = get_article(conn, ids[2])
    assert third is not None and third.published_at == datetime(2026, 11, 24, 23, 30, tzinfo=KST)
    assert store_articles(conn, []) == []


def test_store_rolls_back_whole_batch_on_error(conn: Conn) -> None:
    bad = article(2)
    bad.portal = None  # type: ignore[assignment]  # NOT NULL
    with pytest.raises(psycopg.errors.NotNullViolation):
        store_articles(conn, [article(1), bad])
    assert count(conn, "articles") == 0


def mixed_workload(seed: int, n: int, updates: bool = True) -> tuple[list[Any], list[Any]]:
    """(stored before, the batch): new stories, and repeats of earlier ones of every kind."""
    rnd = random.Random(seed)
    before = [article(1000 + i, original_url=original_url(1000 + i)) for i in range(10)]
    batch: list[Any] = []
    for k in range(n):
        pool = before + batch
        prev = rnd.choice(pool)
        kind = rnd.randrange(8)
        num = 5000 + seed * 1000 + k
        if kind == 0:  # the same page again
            batch.append(dataclasses.replace(prev, urls=list(prev.urls)))
        elif kind == 1:  # the same text elsewhere
            batch.append(article(num, body=prev.body, title=f"다른 {num}"))
        elif kind == 2:  # same publisher, headline and day
            batch.append(article(num, title=prev.title))
        elif kind == 3 and prev.original_url:  # the portal copy of a known original
            batch.append(article(num, url=daum_url(num), original_url=prev.original_url))
        elif kind == 4 and updates:  # the page changed
            batch.append(
                with_keys(dataclasses.replace(prev, body=prev.body + f" 수정 {num}", urls=[]))
            )
        elif kind == 5:  # a near-duplicate
            batch.append(
                article(num, body=prev.body.replace(" ", "  ", 3)[:-3] + "끝.", title=f"근접 {num}")
            )
        else:
            batch.append(article(num, original_url=original_url(num)))
    return before, batch


def snapshot(conn: Conn, results: list[Any]) -> tuple[Any, ...]:
    """What a store did, article ids replaced by the order they first appear in `results`."""
    order: dict[int, int] = {}
    for r in results:
        order.setdefault(r.article_id, len(order))
    outcomes = [
        (r.outcome, order[r.article_id], r.urls_added, order[r.cluster_id]) for r in results
    ]
    urls = sorted(
        (u, order[a]) for u, a in conn.execute("SELECT url, article_id FROM article_urls")
    )
    versions = conn.execute("SELECT count(*) FROM article_versions").fetchone()
    return outcomes, urls, versions


@pytest.mark.parametrize("updates", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])  # checked on 100 seeds each when written
def test_batch_equals_one_by_one_on_a_mixed_workload(
    conn: Conn, seed: int, updates: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, batch = mixed_workload(seed, 60, updates)
    sent_one_by_one: list[int] = []
    real = articles._one_by_one

    def spy(conn, query, items, params, which, results):
        sent_one_by_one.extend(which)
        return real(conn, query, items, params, which, results)

    monkeypatch.setattr(articles, "_one_by_one", spy)
    batched = store_articles(conn, before) + store_articles(conn, batch)
    assert len({r.outcome for r in batched}) >= 4
    if not updates:  # most of the batch went through the set-based statements
        assert len(sent_one_by_one) < len(batch) / 2
    want = snapshot(conn, batched)
    conn.execute("TRUNCATE articles, article_urls, article_versions RESTART IDENTITY CASCADE")
    one_by_one = [store_article(conn, it) for it in before + batch]
    assert snapshot(conn, one_by_one) == want


def test_batch_of_updates_only(conn: Conn) -> None:
    store_articles(conn, [article(1), article(2), article(3)])
    results = store_articles(conn, [article(1, body=BODY), article(2, body=random_text(99))])
    assert [r.outcome for r in results] == ["updated", "updated"]
    # an update first, then an item carrying the updated article's previous text: in order,
    # the old text is free again by then, so that item is a new article
    old = article(3).body
    results = store_articles(conn, [article(3, body=BODY + " 3"), article(4, body=old)])
    assert [r.outcome for r in results] == ["updated", "inserted"]


def test_a_much_shorter_text_at_a_known_url_is_held_as_suspect(conn: Conn) -> None:
    runs = [start_run(conn, "t") for _ in range(3)]
    full = store_article(conn, article(1, body=BODY), crawl_run_id=runs[0])
    cut = BODY[: len(BODY) // 3]  # a fetch cut short
    held = store_article(conn, article(1, body=cut), crawl_run_id=runs[0])
    assert (held.article_id, held.outcome) == (full.article_id, "suspect")
    row = get_article(conn, full.article_id)
    assert row is not None and (row.body, row.version) == (BODY, 1)  # not made current
    suspects = conn.execute("SELECT url, body FROM article_suspects").fetchall()
    assert suspects == [(naver_url(1), cut)]
    # the full text fetched again is what the URL gave before: unchanged, no version
    assert store_article(conn, article(1, body=BODY), crawl_run_id=runs[1]).outcome == "unchanged"
    # the same short text again in the same run is still held; in a later run it is the page
    # as it now is: a new version, and the suspect is settled
    assert store_article(conn, article(1, body=cut), crawl_run_id=runs[0]).outcome == "suspect"
    confirmed = store_article(conn, article(1, body=cut), crawl_run_id=runs[2])
    assert confirmed.outcome == "updated"
    row = get_article(conn, full.article_id)
    assert row is not None and (row.body, row.version) == (cut, 2)
    assert count(conn, "article_suspects") == 0
    # a shorter text that is not much shorter is an ordinary update
    trimmed = store_article(conn, article(1, body=cut[: int(len(cut) * 0.8)]))
    assert trimmed.outcome == "updated"
