"""`sosik demo` as a newcomer runs it: a subprocess, a database never migrated, no network.

Network is made impossible for the crawls: every proxy variable points at a port that refuses
connections, so a request that did not go to the replay server would fail the run, and the
demo itself compares the responses Scrapy counted with the replay server's request log.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from db.connection import with_dbname
from tests.dbfixtures import drop_database, new_database
from tests.e2e.replaykit import REPO, counts

pytestmark = pytest.mark.e2e

WIRE = "https://n.news.naver.com/mnews/article/970/0000000101"
WIRE_COPY = "https://n.news.naver.com/mnews/article/971/0000000201"  # same text, new headline
WIRE_EDIT = "https://n.news.naver.com/mnews/article/972/0000000301"  # new lead, same rest
SEEN_TWICE = "https://n.news.naver.com/mnews/article/973/0000000401"  # search and section


@pytest.fixture
def empty_db(pg_server_url: str) -> Iterator[str]:
    """A database with nothing in it, not even the schema: what a fresh clone starts with."""
    name = new_database(pg_server_url, "sosik_demo")
    if name is None:
        pytest.skip("TEST_DATABASE_URL's role cannot create databases; the demo needs its own")
    yield with_dbname(pg_server_url, name)
    drop_database(pg_server_url, name)


@pytest.fixture
def dead_proxy() -> Iterator[str]:
    """A loopback address that refuses connections (bound, never listening)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def run_demo(db_url: str, home: Path, proxy: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SOSIK_HOME": str(home),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        **{k: proxy for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")},
        "no_proxy": "",
        "NO_PROXY": "",
    }
    home.mkdir(exist_ok=True)
    # from another folder than the repository: the site comes with the package
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", "demo"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def runs(db_url: str) -> list[tuple[str, str, dict]]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        return conn.execute("SELECT spider, status, stats FROM crawl_runs ORDER BY id").fetchall()


def feed(db_url: str) -> dict[str, tuple[int, int, str, list[str]]]:
    """canonical_url -> (id, cluster_id, publisher, urls) of every row of the reader view."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT canonical_url, id, cluster_id, publisher, urls FROM articles_feed"
        ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def test_demo_stores_the_site_once_offline(tmp_path, empty_db, dead_proxy):
    first = run_demo(empty_db, tmp_path / "home", dead_proxy)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    out = first.stdout
    assert "sosik crawl naver: ok" in out and "sosik crawl naver_section: ok" in out
    # 5 pages per crawl and 3 robots.txt per crawl, all from the replay server
    assert "Network: all 16 requests of the crawls (10 pages, 6 robots.txt" in out
    assert "no network used" in out
    assert "This run stored 6 new articles" in out

    assert counts(empty_db) == {
        "articles": 6,  # 7 article pages, one a word-for-word copy
        "article_urls": 21,  # 3 per article (canonical, as linked, original) + the copy's 3
        "search_hits": 4,
        "crawl_runs": 2,
    }
    (s1, st1, search), (s2, st2, section) = runs(empty_db)
    assert (s1, st1, s2, st2) == ("naver", "ok", "naver_section", "ok")
    assert search["store/inserted"] == 4 and search["items/search_hits"] == 4
    assert section["store/inserted"] == 2
    assert section["dedupe/dropped_hash"] == 1  # the wire copy under another headline
    assert section["store/unchanged"] == 1  # the article the search stored already
    for stats in (search, section):
        assert stats["pages/article"] == 4
        assert not stats.get("fetch/error") and not stats.get("parse/error")
        for field in ("title", "body", "published_at", "publisher"):
            assert stats[f"coverage/naver.mnews/{field}"] == 4, field

    rows = feed(empty_db)
    assert WIRE_COPY not in rows and SEEN_TWICE in rows
    wire_id, wire_cluster, publisher, urls = rows[WIRE]
    assert publisher == "가람통신"
    assert WIRE_COPY in urls and "https://www.hanbit-ilbo.example/news/201" in urls
    assert rows[WIRE_EDIT][1] == wire_cluster  # the rewritten copy: its own row, one cluster
    assert len({r[1] for r in rows.values()}) == 5
    assert f"articles {min(wire_id, rows[WIRE_EDIT][0])}, " in out  # the cluster is pointed out
    assert WIRE_COPY in out

    second = run_demo(empty_db, tmp_path / "home", dead_proxy)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "This run stored 0 new articles" in second.stdout
    assert "Nothing new" in second.stdout
    assert counts(empty_db) == {
        "articles": 6,
        "article_urls": 21,
        "search_hits": 4,
        "crawl_runs": 4,
    }
    assert feed(empty_db) == rows
    later = runs(empty_db)[2:]
    assert [(r[0], r[1]) for r in later] == [("naver", "ok"), ("naver_section", "ok")]
    assert [r[2].get("store/inserted", 0) for r in later] == [0, 0]
    assert [r[2]["store/unchanged"] for r in later] == [4, 4]
