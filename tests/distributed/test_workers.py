"""Distributed crawls through the real Scrapy engine: `sosik enqueue`, worker processes, a
Redis and the replay server of a synthetic site of distinct articles. Counted on the replay
server's request log, on PostgreSQL and on the one run record of the job."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import require_corpus
from tests.distributed.redisfix import RedisServer, new_prefix
from tests.distributed.scenarios import describe, distributed_crawl

pytestmark = pytest.mark.e2e

ARTICLES = 60
LIST_PAGES = 4  # 3 pages of 20 links, and page 4 (a repeat of 3) that ends the paging


def test_three_workers_fetch_every_page_once_and_store_every_article_once(
    fresh_db: str, redis_url: tuple[str, str], tmp_path: Path
) -> None:
    require_corpus()
    url, prefix = redis_url
    run = distributed_crawl(fresh_db, url, prefix, tmp_path / "logs", articles=ARTICLES, workers=3)
    why = describe(run)
    assert run.worker_codes == [0, 0, 0], why
    # every page exactly once, from the server's own log
    assert len(run.requests) == ARTICLES + LIST_PAGES, why
    assert run.fetched_twice == 0, why
    # every article exactly once
    assert run.stored == ARTICLES and run.stored_twice == 0, why
    # one run record for the job, finished by one worker with everybody's counts
    rec = run.run
    assert rec["runs"] == 1 and rec["status"] == "ok", why
    assert rec["stats"]["store/inserted"] == ARTICLES, why
    assert rec["stats"]["downloader/response_count"] == ARTICLES + LIST_PAGES, why
    assert rec["args"]["distributed"] is True
    # the work was shared: every worker fetched something
    fetched = [s.get("downloader/response_count", 0) for s in run.worker_stats]
    assert all(n > 0 for n in fetched) and sum(fetched) == ARTICLES + LIST_PAGES, fetched
    assert run.counts["done"] == ARTICLES + LIST_PAGES and run.counts["pending"] == 0, why


def test_a_worker_killed_mid_crawl_loses_nothing_and_stores_nothing_twice(
    fresh_db: str, redis_url: tuple[str, str], tmp_path: Path
) -> None:
    require_corpus()
    url, prefix = redis_url
    run = distributed_crawl(
        fresh_db, url, prefix, tmp_path / "logs", articles=ARTICLES, workers=3, latency=0.15,
        fault="kill",
    )  # fmt: skip
    why = describe(run)
    assert run.killed >= 3, why  # the victim held requests when it died
    assert run.worker_codes[0] == -9 and run.worker_codes[1:] == [0, 0], why
    # its leases ran out and its requests went back to the queue, and were done by the others
    assert run.counts["reclaimed"] >= 1, why
    assert len(run.article_urls) == ARTICLES, why  # every article page was fetched
    assert run.stored == ARTICLES and run.stored_twice == 0, why
    assert run.run["runs"] == 1 and run.run["status"] == "ok", why
    assert run.counts["pending"] == 0 and run.counts.get("failed", 0) == 0, why


def test_workers_survive_a_redis_restart_mid_crawl(
    fresh_db: str, owned_redis: RedisServer, tmp_path: Path
) -> None:
    require_corpus()
    run = distributed_crawl(
        fresh_db, owned_redis.url, new_prefix(), tmp_path / "logs", articles=ARTICLES,
        workers=2, latency=0.05, fault="redis-restart", redis_server=owned_redis,
        settings={"DISTRIBUTED_LEASE_SECONDS": "20"},
    )  # fmt: skip
    why = describe(run)
    assert owned_redis.restarts == 1
    assert run.worker_codes == [0, 0], why
    assert run.stored == ARTICLES and run.stored_twice == 0, why
    assert len(run.requests) == ARTICLES + LIST_PAGES and run.fetched_twice == 0, why
    rec = run.run
    assert rec["runs"] == 1 and rec["status"] == "ok", why
    # each worker noticed the outage, counted it, and lost nothing it had fetched
    assert rec["stats"].get("distributed/redis_outages", 0) >= 2, why
    assert rec["stats"]["store/inserted"] == ARTICLES, why
