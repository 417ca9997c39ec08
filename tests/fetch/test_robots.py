"""robots.txt is obeyed by every request of a crawl, also by those that arrive together while
the site's robots.txt is still being fetched: a list page brings several links to one site at
once. Through the real engine (`sosik crawl` against the replay server), counted on the
server's own request log and on the run record."""

from __future__ import annotations

import json
import subprocess
import time
from urllib.parse import urlsplit

import psycopg
import pytest

from bench._replay import SID1, SID2, SyntheticSite, _Saved
from crawler.middlewares.replay import ReplayServer
from crawler.runrecord import iter_errors
from tests.conftest import require_corpus
from tests.ops import opskit as kit

pytestmark = pytest.mark.e2e

ARTICLES = 20  # one list page; about 9 of its links are on BLOCKED
BLOCKED = "www.mk.co.kr"
ROBOTS_DELAY = 0.5  # the blocked site's robots.txt takes this long: its links wait together


class RobotsSite:
    """The synthetic site, with a robots.txt for BLOCKED that disallows everything and is
    slow to come (every other site has none: 404)."""

    def __init__(self, site: SyntheticSite) -> None:
        self.site = site

    def match(self, url: str) -> _Saved | None:
        parts = urlsplit(url)
        if parts.path == "/robots.txt":
            if parts.hostname != BLOCKED:
                return None
            time.sleep(ROBOTS_DELAY)
            return _Saved(b"User-agent: *\nDisallow: /\n")
        return self.site.match(url)

    def __len__(self) -> int:
        return len(self.site)


def crawl(db_url: str, *settings: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """A legacy-layout section crawl of the site with robots.txt obeyed; the articles of
    BLOCKED the server was asked for."""
    require_corpus()
    site = SyntheticSite(ARTICLES)
    day, _ = site.day_range()
    env = kit.sosik_env(db_url, SOSIK_PROGRESS="0")
    env.pop("REDIS_URL", None)  # a local crawl, not the distributed frontier
    with ReplayServer(RobotsSite(site)) as server:  # type: ignore[arg-type] - match() API
        p = subprocess.run(
            kit.sosik_argv(
                "crawl", "naver_section", "--section", str(SID1), "--sub", SID2,
                "--layout", "legacy", "--date", day.isoformat(),
                "-s", f"REPLAY_URL={server.url}", "-s", "ROBOTSTXT_OBEY=1", *settings,
            ),
            cwd=kit.REPO, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        fetched = [u for u in server.requested(BLOCKED) if not u.endswith("/robots.txt")]
    linked = [u for n in range(1, ARTICLES + 1) if BLOCKED in (u := site.article_url(n))]
    assert len(linked) >= 5, linked  # enough of them to wait together
    return p, fetched


def test_every_request_waiting_for_robots_txt_obeys_it(fresh_db: str) -> None:
    p, fetched = crawl(fresh_db)
    assert fetched == [], fetched
    assert p.returncode == 1, p.stderr[-3000:]  # refusals are failures: never ok
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        status, errors = conn.execute("SELECT status, errors FROM crawl_runs").fetchone()
    refused = [(u, why) for _, u, why in iter_errors(errors) if urlsplit(u).hostname == BLOCKED]
    assert status == "errors" and len(refused) >= 5, json.dumps(errors, ensure_ascii=False)
    assert all("robots" in why.lower() for _, why in refused), refused


def test_scrapys_own_middleware_lets_the_waiters_through(fresh_db: str) -> None:
    """Why sosik has its own: with Scrapy's RobotsTxtMiddleware in its place, the same crawl
    fetches pages robots.txt disallows (when Scrapy fixes it, this fails: drop ours)."""
    from crawler import settings

    middlewares = {
        **settings.DOWNLOADER_MIDDLEWARES,
        "crawler.middlewares.robots.SharedRobotsTxtMiddleware": None,
        "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": 100,
    }
    _, fetched = crawl(fresh_db, "-s", f"DOWNLOADER_MIDDLEWARES={json.dumps(middlewares)}")
    assert fetched, "Scrapy's middleware obeyed every waiter"
