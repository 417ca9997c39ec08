"""The store against a real PostgreSQL: batches, a refused item alone, an outage told apart.

`pipelines.writing.write` (what the store runs on a database thread) is called directly; the
store pipeline itself runs in a real crawl process (tests.faults.itemcrawl) through sosik's
pipelines, database owner and run record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from crawler.domain.items import SearchHit
from db.connection import connect
from pipelines.prepare import problems
from pipelines.writing import StoreOptions, is_transient, write
from tests.db.factories import article, hit, random_text
from tests.e2e.replaykit import REPO
from tests.faults.itemcrawl import write_items

Conn = psycopg.Connection[Any]


def item_crawl(
    db_url: str, items: list[Any], tmp: Path, *settings: str
) -> subprocess.CompletedProcess:
    path = write_items(tmp / "items.jsonl", items)
    cmd = [sys.executable, "-m", "tests.faults.itemcrawl", str(path)]
    for s in settings:
        cmd += ["-s", s]
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SOSIK_HOME": str(tmp / "home"),
        "SOSIK_PROGRESS": "0",
    }
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def last_run(conn: Conn) -> tuple[str, dict, list]:
    return conn.execute(
        "SELECT status, stats, errors FROM crawl_runs ORDER BY id DESC LIMIT 1"
    ).fetchone()


def test_a_refused_item_is_rejected_alone_and_the_rest_stored(conn: Conn) -> None:
    items = [article(i) for i in range(1, 9)]
    items[2].body = "본문에 NUL\x00 이 있다"  # psycopg refuses it before the server sees it
    noise = random_text(5, words=400).replace(" ", "")  # incompressible: the index keeps it whole
    items[5].urls.append("https://example.com/" + noise)  # beyond a btree entry's 2,704 bytes
    written = write(conn, items, [hit("q", 1, items[0].url)], StoreOptions())
    assert [r.item.url for r in written.refused] == [items[2].url, items[5].url]
    assert "NUL" in written.refused[0].reason
    assert "index row" in written.refused[1].reason
    assert [it.url for it, _ in written.articles] == [
        it.url for i, it in enumerate(items) if i not in (2, 5)
    ]
    assert {r.outcome for _, r in written.articles} == {"inserted"}
    assert written.hits == 1
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 6
    assert conn.execute("SELECT article_id IS NOT NULL FROM search_hits").fetchone()[0]


def test_a_killed_session_is_an_outage_not_a_bad_item(db_url: str, conn: Conn) -> None:
    victim = connect(db_url)
    pid = victim.execute("SELECT pg_backend_pid()").fetchone()[0]
    conn.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(psycopg.Error) as err:
        write(victim, [article(1)], [], StoreOptions())
    assert is_transient(err.value)
    assert not is_transient(psycopg.DataError("bad value"))
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 0


def test_the_limits_name_what_is_wrong() -> None:
    assert problems(article(1)) == []
    long = article(2, title="가" * 1000)
    assert problems(long) == ["title too long (1,000 characters; at most 300)"]
    assert problems(article(3, body="본문\x00")) == ["body holds a NUL character (at character 2)"]
    assert problems(replace(article(4), body="본문\ud800")) == [
        "body holds a lone surrogate (at character 2)"
    ]
    assert problems(SearchHit("naver", "q", 1, 1, "", "https://x")) == ["missing title"]


def test_the_store_writes_batches_and_counts_what_the_database_decided(
    db_url: str, conn: Conn, tmp_path: Path
) -> None:
    first = article(1, body=random_text(1))
    items = [
        hit("q", 1, first.url),
        first,
        article(1, body=random_text(1)),  # the same again: a URL duplicate
        article(3, body=random_text(1), title="다른 제목"),  # the same text: dropped_hash
        article(4, title="가" * 1000),  # rejected before the store
    ]
    done = item_crawl(db_url, items, tmp_path, "STORE_BATCH_SIZE=2", "DEDUPE_PREFILTER=0")
    assert done.returncode == 1, done.stderr  # one item lost: never ok
    status, stats, errors = last_run(conn)
    assert status == "errors"
    assert stats["store/inserted"] == 1
    assert stats["dedupe/dropped_url"] == 1
    assert stats["dedupe/dropped_hash"] == 1
    assert stats["validate/rejected"] == 1
    assert errors == [
        {
            "kind": "rejected",
            "reason": "title too long (1,000 characters; at most 300)",
            "urls": [article(4).url],
        }
    ]
    assert conn.execute("SELECT count(*) FROM article_urls").fetchone()[0] == 2
    assert conn.execute("SELECT article_id IS NOT NULL FROM search_hits").fetchone()[0]
    assert conn.execute("SELECT spider, pid IS NOT NULL FROM crawl_runs").fetchone() == (
        "items",
        True,
    )
    assert "sosik crawl items: errors" in done.stderr
    assert json.dumps(errors, ensure_ascii=False) in json.dumps(
        conn.execute("SELECT errors FROM crawl_runs").fetchone()[0], ensure_ascii=False
    )
