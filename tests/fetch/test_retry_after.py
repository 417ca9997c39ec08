"""Retry-After waits hold nothing: while 16 URLs wait out a 429's Retry-After, the crawl fetches
every other page. The evidence is the replay server's request log (arrival order and times);
the test asserts the order only.

With the wait inside the downloader middleware (the old RetryAfterMiddleware awaited it in
process_response), the 16 waiting requests held all 16 places of CONCURRENT_REQUESTS: nothing
else was fetched until they woke, and every other article came after the retries.
"""

from __future__ import annotations

import psycopg
import pytest

from bench._replay import SyntheticSite
from crawler.domain.urls import canonical_url
from crawler.middlewares.replay import ReplayServer
from tests.faults.network import crawl_site

pytestmark = pytest.mark.e2e

WAIT = 8  # seconds of Retry-After; the other 32 pages take well under one on loopback
WAITING = 16


def test_retry_after_waits_hold_no_slot_while_other_pages_are_fetched(fresh_db):
    site = SyntheticSite(48)  # one day: three list pages of 20, 16 and 12 links
    urls = [site.article_url(n) for n in range(1, 49)]
    waiting, others = urls[:WAITING], urls[WAITING:]
    with ReplayServer(site) as server:  # type: ignore[arg-type] - same match() API
        for url in waiting:
            server.inject(url, 429, {"Retry-After": str(WAIT)}, times=1)
        code, err = crawl_site(site, fresh_db, server)
        log = server.hits()
    assert code == 0, err[-3000:]
    t0 = log[0].at
    print(f"\nreplay server request log ({len(log)} requests; seconds since the first):")
    for h in log:
        mark = "waits" if h.url in waiting else ""
        print(f"  {h.at - t0:6.2f}  {h.answer:>3}  {mark:5}  {h.url}")
    order = [h.url for h in log]
    answered_429 = [i for i, h in enumerate(log) if h.answer == "429"]
    retried = [i for i, h in enumerate(log) if h.url in waiting and h.answer == "200"]
    fetched = [i for i, h in enumerate(log) if h.url in others and h.answer == "200"]
    assert len(answered_429) == WAITING and len(retried) == WAITING
    assert len(fetched) == len(others)
    # every other article was fetched while the 16 waited: after their 429s, before any retry
    assert max(fetched) < min(retried), order
    assert max(answered_429) < min(retried)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        stored = {r[0] for r in conn.execute("SELECT url FROM article_urls")}
        stats = conn.execute("SELECT stats FROM crawl_runs").fetchone()[0]
    assert {canonical_url(u) for u in urls} <= stored
    assert stats["retry/parked"] == WAITING
    assert stats["retry/wait_seconds"] == WAITING * WAIT
