"""The indexer: `sosik db reindex` as a command, and as the child process of a crawl."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from crawler.domain.terms import tokenizer_version
from crawler.extensions.indexer import Indexer
from db.articles import store_articles
from db.search import find, index_status
from tests.db.factories import article
from tests.e2e.replaykit import REPO
from tests.e2e.test_demo import dead_proxy, empty_db, run_demo, runs  # noqa: F401 - fixtures
from tests.test_database_commands import sosik as run_sosik


def sosik(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_sosik(*args, env={**os.environ, "DATABASE_URL": db_url})


def test_reindex_indexes_what_is_missing_or_stale_and_nothing_twice(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    store_articles(conn, [article(n, title=f"물가 기사 {n}") for n in range(1, 8)])
    tokenizer = tokenizer_version()
    assert index_status(conn, tokenizer) == (0, 7)
    done = sosik(db_url, "db", "reindex", "--batch", "3")
    assert done.returncode == 0, done.stderr
    assert "7 articles indexed" in done.stderr and "0 waiting" in done.stderr
    assert index_status(conn, tokenizer) == (7, 0)
    assert len(find(conn, "물가").hits) == 7
    again = sosik(db_url, "db", "reindex")
    assert "0 articles indexed" in again.stderr

    # a new version of one article, and rows cut by older rules, are indexed again
    first = conn.execute("SELECT min(id) FROM articles").fetchone()[0]
    conn.execute(
        "UPDATE articles SET version = version + 1, title = '환율 기사' WHERE id = %s", [first]
    )
    conn.execute("UPDATE article_search SET tokenizer = 'old' WHERE article_id = %s", [first + 1])
    assert index_status(conn, tokenizer) == (7, 2)
    indexer = Indexer(db_url)
    assert indexer.run_pass(conn) == 2
    assert index_status(conn, tokenizer) == (7, 0)
    assert [h["id"] for h in find(conn, "환율").hits] == [first]


def test_a_version_changed_while_being_cut_is_not_written(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    store_articles(conn, [article(1, title="금리 기사")])
    indexer = Indexer(db_url)
    from db.search import pending_articles

    batch = pending_articles(conn, 0, 10, indexer.tokenizer)
    conn.execute(
        "UPDATE articles SET version = 2, title = '금리 동결' WHERE id = %s", [batch[0].id]
    )
    indexer.index(conn, batch)  # cut at version 1, stored at version 2: skipped
    assert (indexer.stats.indexed, indexer.stats.skipped) == (0, 1)
    assert indexer.run_pass(conn) == 1
    assert find(conn, "동결").hits


@pytest.mark.e2e
def test_a_crawl_indexes_in_a_child_process_and_records_it(
    tmp_path: Path,
    empty_db: str,  # noqa: F811
    dead_proxy: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOSIK_SEARCH_INDEX", "on")
    done = run_demo(empty_db, tmp_path / "home", dead_proxy)
    assert done.returncode == 0, done.stdout + done.stderr
    records = runs(empty_db)
    assert len(records) == 2
    for _, _, stats in records:
        assert "search_index/failed" not in stats
        assert stats["search_index/indexed"] >= 0 and stats["search_index/pending"] >= 0
    with psycopg.connect(empty_db, autocommit=True) as conn:
        indexed, pending = index_status(conn, tokenizer_version())
        articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        # every row of the index was written by one of the crawls' indexers, and what the last
        # crawl left waiting is what is not indexed
        assert indexed == sum(s["search_index/indexed"] for *_, s in records)
        assert records[-1][2]["search_index/pending"] == pending == articles - indexed
        # no indexer is left behind
        assert (
            conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            ).fetchone()[0]
            == 0
        )
    done = sosik(empty_db, "db", "reindex")
    assert done.returncode == 0, done.stderr
    with psycopg.connect(empty_db, autocommit=True) as conn:
        assert index_status(conn, tokenizer_version())[1] == 0
        hits = find(conn, "전기버스").hits
        assert hits and all("전기버스" in h["title"] + h["body"] for h in hits)


def test_follow_indexes_new_articles_and_new_versions_until_stopped(
    conn: psycopg.Connection[Any], db_url: str, tmp_path: Path
) -> None:
    report = tmp_path / "report.jsonl"
    env = {**os.environ, "DATABASE_URL": db_url}
    child = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "db", "reindex", "--follow", "--report", str(report)],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        store_articles(conn, [article(n, title=f"태풍 소식 {n}") for n in range(1, 4)])
        wait_for(lambda: len(find(conn, "태풍").hits) == 3)
        first = find(conn, "태풍", order="newest").hits[-1]["id"]
        conn.execute(
            "UPDATE articles SET version = 2, title = '지진 소식' WHERE id = %s", [first]
        )  # an UPDATE of version notifies, as the store's does
        wait_for(lambda: [h["id"] for h in find(conn, "지진").hits] == [first])
        assert len(find(conn, "태풍").hits) == 2
    finally:
        child.terminate()
        _, err = child.communicate(timeout=DEADLINE)
    assert child.returncode == 0, err
    assert "4 articles indexed" in err
    last = report.read_text().splitlines()[-1]
    assert '"indexed": 4' in last


DEADLINE = 60.0


def wait_for(condition: Any) -> None:
    """Poll `condition` until it holds; fail after DEADLINE seconds (a deadline, not a timing)."""
    import time

    end = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < end, "not reached within the deadline"
        time.sleep(0.1)
