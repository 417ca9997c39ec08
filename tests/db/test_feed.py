"""The reader contract: the view, the read-only role, NOTIFY and the id cursor."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import psycopg
import pytest

from db.articles import store_article, store_articles
from db.connection import connect
from db.feed import follow, get_articles, iter_new, listen
from tests.db.factories import BODY, article, daum_url, original_url

Conn = psycopg.Connection[Any]
BASE_TABLES = ("articles", "article_urls", "article_versions", "search_hits", "crawl_runs", "pages")


@pytest.fixture
def reader(conn: Conn, db_url: str) -> Any:
    """A connection acting as sosik_reader (SET ROLE: the role itself cannot log in)."""
    with connect(db_url) as c:
        c.execute("SET ROLE sosik_reader")
        yield c


def test_feed_view_has_the_urls_of_an_article(conn: Conn) -> None:
    o = original_url(1)
    a = store_article(conn, article(1, body=BODY, original_url=o))
    store_article(conn, article(2, url=daum_url(1), portal="daum", original_url=o))
    (row,) = get_articles(conn, [a.article_id])
    assert row.urls[0] == row.canonical_url
    assert set(row.urls) == {row.canonical_url, o, daum_url(1)}
    assert (row.version, row.cluster_id, row.authors) == (1, a.article_id, ["홍길동"])


def test_reader_sees_the_feed_the_search_index_and_its_views_and_nothing_else(
    conn: Conn, reader: Conn
) -> None:
    store_article(conn, article(1))
    assert [r.title for r in iter_new(reader)] == ["기사 제목 1번"]
    for table in BASE_TABLES:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute(f"SELECT 1 FROM {table} LIMIT 1")
    for statement in (
        "INSERT INTO articles_feed (id, canonical_url) VALUES (99, 'x')",
        "UPDATE articles_feed SET title = 'x'",
        "DELETE FROM articles_feed",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute(statement)
    visible = reader.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
    ).fetchall()
    # the feed, the search index and the read-only views of `sosik serve` (migration 0007)
    assert [v for (v,) in visible] == [
        "article_search",
        "articles_feed",
        "reader_article_urls",
        "reader_article_versions",
        "reader_runs",
        "reader_search_hits",
    ]
    assert conn.execute("SELECT count(*) FROM articles").fetchone() == (1,)


def test_listen_gets_new_articles_and_new_versions_not_rollbacks(conn: Conn, db_url: str) -> None:
    with connect(db_url) as listener:
        ids = listen(listener, timeout=0)  # LISTEN now; the notifications wait in the socket
        assert list(ids) == []
        a = store_article(conn, article(1, body=BODY))
        store_article(conn, article(1, body=BODY))  # unchanged: no notification
        store_article(conn, article(1, body=BODY + " 고침"))  # new version
        with conn.transaction():
            store_article(conn, article(2))
            raise psycopg.Rollback
        b = store_articles(conn, [article(3), article(4)])
        got = [int(n.payload) for n in listener.notifies(timeout=0.5)]
    assert got == [a.article_id, a.article_id, b[0].article_id, b[1].article_id]


def test_iter_new_pages_through_everything_in_order(conn: Conn) -> None:
    results = store_articles(conn, [article(i) for i in range(23)])
    ids = [r.article_id for r in results]
    assert [r.id for r in iter_new(conn, 0, batch=5)] == ids
    assert [r.id for r in iter_new(conn, ids[9], batch=5)] == ids[10:]
    assert list(iter_new(conn, ids[-1])) == []
    with pytest.raises(ValueError):
        next(iter_new(conn, 0, batch=0))


def test_iter_new_skips_nothing_while_writers_run(conn: Conn, db_url: str) -> None:
    """Three writers store batches of random size; a reader follows with the id cursor."""
    written: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            with connect(db_url) as c:
                for k in range(25):
                    n = 10_000 * seed + 100 * k
                    batch = [article(n + j) for j in range(rnd.choice((1, 1, 2, 7, 20)))]
                    res = store_articles(c, batch)
                    with lock:
                        written.extend(r.article_id for r in res)
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    seen: list[int] = []

    def reader() -> None:
        try:
            with connect(db_url) as c:
                last = 0
                while not stop.is_set():
                    for row in iter_new(c, last, batch=7):
                        seen.append(row.id)
                        last = row.id
                seen.extend(r.id for r in iter_new(c, last))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in (1, 2, 3)]
    follower = threading.Thread(target=reader)
    follower.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stop.set()
    follower.join(60)
    assert not errors, errors
    assert len(written) > 100
    assert seen == sorted(written)  # every article once, in id order


def test_follow_yields_new_rows_and_new_versions(conn: Conn, db_url: str) -> None:
    first = store_article(conn, article(1, body=BODY))
    got: list[tuple[int, int]] = []
    with connect(db_url) as c:
        feed = follow(c, 0, wait=2.0)
        row = next(feed)
        got.append((row.id, row.version))

        def write() -> None:
            time.sleep(0.2)
            with connect(db_url) as w:
                store_article(w, article(2))
                store_article(w, article(1, body=BODY + " 고침"))

        t = threading.Thread(target=write)
        t.start()
        for _ in range(2):
            row = next(feed)
            got.append((row.id, row.version))
        t.join()
    assert got[0] == (first.article_id, 1)
    assert sorted(got[1:]) == sorted([(first.article_id, 2), (first.article_id + 1, 1)])


def test_follow_from_a_saved_cursor_yields_a_new_version_once_and_no_repeat(
    conn: Conn, db_url: str
) -> None:
    """A reader restarted past article A: A's real new version comes once; a notification that
    only repeats A's id (any role can send one) brings nothing."""
    a = store_article(conn, article(1, body=BODY)).article_id

    def notify(article_id: int) -> None:
        conn.execute("SELECT pg_notify('sosik_articles', %s)", [str(article_id)])

    with connect(db_url) as c:
        feed = follow(c, a, wait=2.0)  # the cursor says A was handled before the restart
        b = store_article(conn, article(2)).article_id
        assert next(feed).id == b  # listening
        notify(a)  # A has not changed: nothing to yield
        d = store_article(conn, article(4)).article_id
        assert next(feed).id == d
        store_article(conn, article(1, body=BODY + " 고침"))  # A's version 2, notified
        row = next(feed)
        assert (row.id, row.version) == (a, 2)
        notify(a)
        notify(b)
        c3 = store_article(conn, article(3)).article_id
        assert next(feed).id == c3  # neither A nor B again
