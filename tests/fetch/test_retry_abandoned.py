"""A retry still waiting out its Retry-After when the crawl is stopped (SIGTERM) is not
fetched: it is named in the run record with its URL, and the run does not end `ok`."""

from __future__ import annotations

import signal
import subprocess

import psycopg
import pytest

from bench._replay import SID1, SID2, SyntheticSite
from crawler.middlewares.replay import ReplayServer
from crawler.runrecord import iter_errors
from tests.ops import opskit as kit
from tests.ops.test_operations import wait_for

pytestmark = pytest.mark.e2e

ARTICLES = 12


def test_a_retry_waiting_when_the_crawl_stops_is_named(fresh_db):
    site = SyntheticSite(ARTICLES)
    urls = [site.article_url(n) for n in range(1, ARTICLES + 1)]
    waiting = urls[0]
    first, last = site.day_range()
    with ReplayServer(site) as server:  # type: ignore[arg-type] - same match() API
        server.inject(waiting, 429, {"Retry-After": "300"}, times=1)
        crawl = subprocess.Popen(
            kit.sosik_argv(
                "crawl", "naver_section", "--section", str(SID1), "--sub", SID2,
                "--layout", "legacy", "--since", first.isoformat(), "--until", last.isoformat(),
                "-s", f"REPLAY_URL={server.url}",
            ),
            cwd=kit.REPO, env=kit.sosik_env(fresh_db, SOSIK_PROGRESS="0"),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            # every other article fetched, the one left parked on its 300 s Retry-After
            wait_for(
                lambda: (
                    len({h.url for h in server.hits() if h.answer == "200"} & set(urls))
                    == ARTICLES - 1
                ),
                what="the other articles to be fetched",
            )
            crawl.send_signal(signal.SIGTERM)
            _, err = crawl.communicate(timeout=120)
        finally:
            if crawl.poll() is None:
                crawl.kill()
    assert crawl.returncode == 1, err[-3000:]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        status, stats, errors = conn.execute(
            "SELECT status, stats, errors FROM crawl_runs"
        ).fetchone()
    assert status != "ok" and stats["retry/abandoned"] == 1
    named = [(kind, url, why) for kind, url, why in iter_errors(errors) if url == waiting]
    assert named and "retry abandoned" in named[0][2], errors
