"""Crawls as an operator runs them, through the real engine into a real PostgreSQL, where the
answer itself was wrong before: the exit code of `scrapy crawl`, drift that looked like a fetch
error, robots.txt counted as pages, a dozen lines and DNS retries without network."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest

from crawler.runrecord import iter_errors
from tests.e2e.replaykit import REPO, crawl
from tests.ops import opskit as kit

pytestmark = pytest.mark.e2e


def last_run(db_url: str) -> tuple[str, dict, list]:
    """Status, stats and the named pages (one dict per page) of the last run."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        status, stats, errors = conn.execute(
            "SELECT status, stats, errors FROM crawl_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return status, stats, [{"kind": k, "url": u, "reason": r} for k, u, r in iter_errors(errors)]


def redesigned(page: bytes, keep_data: bool) -> bytes:
    """The saved search page after a markup redesign: the result list and its headline spans
    renamed (the page keeps its size, so it is not an empty answer); with `keep_data`, the
    renderer's start-up data still holds the results."""
    gone = page.replace(b'class="list_news', b'class="list_renamed')
    gone = gone.replace(b"sds-comps-text-type-headline1", b"sds-comps-text-type-renamed1")
    return gone if keep_data else gone.replace(b".bootstrap(", b".renamed(")


def test_a_search_page_read_only_from_its_data_is_layout_drift(fresh_db):
    gone = redesigned(kit.search_page(), keep_data=True)
    with kit.replay({kit.SEARCH: gone}) as server:
        result = crawl(
            fresh_db, "naver", "--query", kit.QUERY, "--no-articles", replay_url=server.url
        )
    # The crawl goes on with the data's results, and says the markup changed.
    assert result.code == 2, result.stderr[-2000:]
    assert "DEGRADED: 1 search page(s) read differently from their markup" in result.stderr
    status, stats, _ = last_run(fresh_db)
    assert status == "degraded" and stats["drift/search_crosscheck"] == 1
    assert stats["items/search_hits"] == 10


def test_a_search_page_without_its_result_list_is_layout_drift(fresh_db):
    gone = redesigned(kit.search_page(), keep_data=False)
    with kit.replay({kit.SEARCH: gone}) as server:
        result = crawl(fresh_db, "naver", "--query", kit.QUERY, replay_url=server.url)
    assert result.code == 2, result.stderr[-2000:]  # before: 1, as if a page failed to fetch
    assert "DEGRADED: 1 search page(s) parsed to zero results" in result.stderr
    status, stats, errors = last_run(fresh_db)
    assert status == "degraded" and stats["drift/search_empty"] == 1
    assert len(errors) == 1 and errors[0]["kind"] in ("parse", "drift")  # the page is named
    assert errors[0]["url"].startswith("https://search.naver.com/search.naver?where=news")


def test_the_summary_counts_pages_not_robots_files(fresh_db):
    with kit.replay({kit.SEARCH: kit.search_page()}) as server:
        result = crawl(
            fresh_db, "naver", "--query", kit.QUERY, "--no-articles", replay_url=server.url
        )
        asked = server.requested()
    assert result.code == 0, result.stderr[-2000:]
    assert any(u.endswith("/robots.txt") for u in asked)  # robots.txt was fetched …
    assert re.search(r"\n  pages fetched +1\n", result.stderr)  # … and is not a page (before: 2)
    _, stats, _ = last_run(fresh_db)
    robots = stats["robotstxt/response_count"]
    assert robots >= 1 and stats["downloader/response_count"] == 1 + robots


def test_without_network_a_crawl_ends_in_one_line_and_retries_no_dns(fresh_db):
    url = "https://nosuch.invalid/news"  # .invalid never resolves (RFC 2606)
    result = crawl(fresh_db, "list", "--url", url)
    assert result.code == 1
    assert result.stderr.splitlines() == [
        f"sosik: crawl failed: could not fetch {url}: "
        "DNS lookup failed: no results for hostname lookup: nosuch.invalid."
    ]  # before: a dozen lines
    status, stats, errors = last_run(fresh_db)
    assert status == "failed" and [e["url"] for e in errors] == [url]
    assert "retry/count" not in stats  # before: 3 retries of robots.txt and 3 of the page


class Recorder:
    """An HTTP server that answers 404 to everything and remembers each User-Agent."""

    def __init__(self) -> None:
        agents = self.agents = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                agents.append(self.headers.get("User-Agent", ""))
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def scrapy_crawl(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`scrapy crawl naver -a query=x ARGS` as an operator runs it, with SOSIK_CONTACT set."""
    env = {**os.environ, "DATABASE_URL": db_url, "SOSIK_CONTACT": "ops@example.org"}
    return subprocess.run(
        [sys.executable, "-m", "scrapy.cmdline", "crawl", "naver", "-a", "query=x", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_scrapy_crawl_has_the_exit_codes_and_settings_of_sosik_crawl(fresh_db):
    server = Recorder()
    try:
        p = scrapy_crawl(fresh_db, "-s", f"REPLAY_URL={server.url}", "-s", "LOG_LEVEL=WARNING")
    finally:
        server.close()
    assert p.returncode == 1, p.stderr[-2000:]  # the search page answered 404; before: 0
    assert server.agents and all("contact: ops@example.org" in a for a in server.agents)
    assert "sosik crawl naver: errors" in p.stderr  # the same summary
    status, _, errors = last_run(fresh_db)
    assert status == "errors" and errors[0]["reason"] == "HTTP 404"
    bad = scrapy_crawl(fresh_db, "-a", "pages=-1")
    assert (bad.returncode, bad.stderr) == (
        64,
        "scrapy crawl: -a pages: '-1' is below 0 (0 = every page)\n",
    )
