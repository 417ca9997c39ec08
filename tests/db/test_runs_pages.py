"""Crawl runs, the raw-page archive, and how the connection factory fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from db import connection
from db.connection import DatabaseUnavailable, connect, database_url, describe
from db.crawl_runs import finish_run, get_run, recent_runs, start_run
from db.pages import archive_page, iter_pages
from tests.dbfixtures import ENV_TEST_URL, pgdata_for_tests

Conn = psycopg.Connection[Any]


def test_runs_record_start_and_finish(conn: Conn) -> None:
    first = start_run(conn, "naver_search", {"query": "반도체", "pages": 3})
    second = start_run(conn, "daum_search", {})
    run = get_run(conn, first)
    assert run is not None and run.status == "running" and run.finished_at is None
    assert run.args == {"query": "반도체", "pages": 3}
    stats = {"item_scraped_count": 12, "start_time": datetime(2026, 11, 24, tzinfo=UTC)}
    finish_run(conn, first, "finished", stats, [{"url": "https://x", "error": "ParseError"}])
    run = get_run(conn, first)
    assert run is not None and run.status == "finished" and run.finished_at is not None
    assert run.stats == {"item_scraped_count": 12, "start_time": "2026-11-24T00:00:00+00:00"}
    assert run.errors == [{"url": "https://x", "error": "ParseError"}]
    assert [r.id for r in recent_runs(conn, 10)] == [second, first]
    assert get_run(conn, 999) is None
    with pytest.raises(LookupError):
        finish_run(conn, 999, "finished")


def test_pages_are_archived_compressed_and_read_back(conn: Conn) -> None:
    run = start_run(conn, "naver", {})
    html = ("<html><body>" + "기사 본문 " * 2000 + "</body></html>").encode("utf-8")
    old = datetime.now(UTC) - timedelta(days=2)
    a = archive_page(conn, "https://n.news.naver.com/x", 200, "utf-8", html, "naver", run, old)
    b = archive_page(conn, "https://v.daum.net/v/1", 200, "utf-8", b"<p>daum</p>", "daum")
    stored = conn.execute("SELECT length(body), size FROM pages WHERE id = %s", [a]).fetchone()
    assert stored[1] == len(html) and stored[0] < len(html) / 10
    pages = list(iter_pages(conn, batch=1))
    assert [(p.id, p.body) for p in pages] == [(a, html), (b, b"<p>daum</p>")]
    assert pages[0].crawl_run_id == run and pages[0].encoding == "utf-8"
    assert [p.id for p in iter_pages(conn, portal="daum")] == [b]
    recent = datetime.now(UTC) - timedelta(days=1)
    assert [p.id for p in iter_pages(conn, since=recent)] == [b]


def test_unreachable_database_is_one_clear_line() -> None:
    with pytest.raises(DatabaseUnavailable) as err:
        connect("postgresql://reader:s3cret@127.0.0.1:1/sosik", connect_timeout=2)
    message = str(err.value)
    assert "\n" not in message and "s3cret" not in message
    assert message.startswith("cannot connect to PostgreSQL reader@127.0.0.1:1/sosik")


def test_database_url_prefers_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example/x")
    assert database_url() == "postgresql://u@db.example/x"
    assert describe("host=/tmp dbname=x user=u password=p") == "PostgreSQL u@/tmp/x"


def test_embedded_server_is_reused_with_a_database_of_its_own(pg_server_url: str) -> None:
    import os

    if os.environ.get(ENV_TEST_URL):
        pytest.skip("tests run on TEST_DATABASE_URL, not on the embedded server")
    url = connection.embedded_url(pgdata_for_tests(), dbname="sosik_embedded_check")
    assert connection.embedded_url(pgdata_for_tests(), dbname="sosik_embedded_check") == url
    with connect(url) as c:
        assert c.execute("SELECT current_database()").fetchone() == ("sosik_embedded_check",)
