"""Distributed crawls through the real Scrapy engine: `sosik enqueue`, worker processes, a
Redis and the replay server of a synthetic site of distinct articles. Counted on the replay
server's request log, on PostgreSQL and on the one run record of the job."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.middlewares.replay import ReplayServer
from crawler.runrecord import iter_errors
from tests.conftest import require_corpus
from tests.distributed.redisfix import RedisServer, new_prefix
from tests.distributed.scenarios import (
    REPO,
    Cluster,
    _replay,
    describe,
    distributed_crawl,
    legacy_layout,
    run_record,
    stored,
)

pytestmark = pytest.mark.e2e

ARTICLES = 60
LIST_PAGES = 4  # 3 pages of 20 links, and page 4 (a repeat of 3) that ends the paging


def test_three_workers_fetch_every_page_once_and_store_every_article_once(
    fresh_db: str, redis_url: tuple[str, str], tmp_path: Path
) -> None:
    require_corpus()
    url, prefix = redis_url
    # 4 requests at a time per worker on a site answering in 0.2 s: one worker alone would take
    # 3 s, so all three get their share (the frontier hands out at most a worker's free places)
    run = distributed_crawl(
        fresh_db, url, prefix, tmp_path / "logs", articles=ARTICLES, workers=3, latency=0.2,
        settings={"CONCURRENT_REQUESTS": "4"},
    )  # fmt: skip
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
    assert run.worker_codes[run.victim] == -9 and run.survivors == [0, 0], why
    # its leases ran out and its requests went back to the queue, and were done by the others
    assert run.counts["reclaimed"] >= 1, why
    assert len(run.article_urls) == ARTICLES, why  # every article page was fetched
    assert run.stored == ARTICLES and run.stored_twice == 0, why
    assert run.run["runs"] == 1 and run.run["status"] == "ok", why
    assert run.counts["pending"] == 0 and run.counts.get("failed", 0) == 0, why


def test_a_worker_stopped_by_sigterm_finishes_what_it_holds_and_gives_back_the_rest(
    fresh_db: str, redis_url: tuple[str, str], tmp_path: Path
) -> None:
    require_corpus()
    url, prefix = redis_url
    run = distributed_crawl(
        fresh_db, url, prefix, tmp_path / "logs", articles=ARTICLES, workers=2, latency=0.15,
        fault="term",
    )  # fmt: skip
    why = describe(run)
    assert run.killed >= 3 and "exited 0 holding 0 leases" in run.notes, why
    assert run.worker_codes == [0, 0], why
    # nothing redone: what it held was finished and acknowledged, or given back untouched
    assert run.counts.get("reclaimed", 0) == 0 and run.fetched_twice == 0, why
    assert len(run.requests) == ARTICLES + LIST_PAGES, why
    assert run.stored == ARTICLES and run.stored_twice == 0, why
    assert run.run["status"] == "ok", why


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
    # every page at most once, every article page fetched; while Redis is away a worker judges
    # a list page's links "new" by its own memory, so paging may go one page further
    assert run.fetched_twice == 0 and len(run.article_urls) == ARTICLES, why
    assert LIST_PAGES <= len(run.requests) - ARTICLES <= LIST_PAGES + 1, why
    rec = run.run
    assert rec["runs"] == 1 and rec["status"] == "ok", why
    # each worker noticed the outage, counted it, and lost nothing it had fetched
    assert rec["stats"].get("distributed/redis_outages", 0) >= 2, why
    assert rec["stats"]["store/inserted"] == ARTICLES, why


def test_a_worker_killed_while_the_database_is_down_loses_nothing(
    redis_url: tuple[str, str], tmp_path: Path
) -> None:
    """The store cannot write, so nothing the workers fetch meanwhile is durable and nothing
    is acknowledged: the killed worker's finished requests, whose items died with it, go back
    to the queue with its leases and are stored by the others once the database is back."""
    require_corpus()
    from tests.faults.database import EmbeddedServer, temp_root

    url, prefix = redis_url
    with temp_root() as root:
        database = EmbeddedServer(root / "pg")
        try:
            run = distributed_crawl(
                database.database("dist"), url, prefix, tmp_path / "logs", articles=ARTICLES,
                workers=3, latency=0.3, fault="db-down-kill", database=database,
                settings={"CONCURRENT_REQUESTS": "2"},
            )  # fmt: skip
        finally:
            database.close()
    why = describe(run)
    # 2 requests at once, so at most 4 in progress: the others had finished, unacknowledged
    assert run.killed >= 6, why
    assert run.worker_codes[run.victim] == -9 and run.survivors == [0, 0], why
    assert run.counts["reclaimed"] >= run.killed, why
    assert run.stored == ARTICLES and run.stored_twice == 0, why
    rec = run.run
    assert rec["runs"] == 1 and rec["status"] == "ok", why
    assert run.counts["pending"] == 0 and run.counts.get("failed", 0) == 0, why


def per_site(times: list[tuple[float, str]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for t, url in times:
        out.setdefault(urlsplit(url).hostname or "", []).append(t)
    return {host: sorted(ts) for host, ts in out.items()}


def test_two_workers_share_one_budget_per_site_and_obey_robots(
    fresh_db: str, redis_url: tuple[str, str], tmp_path: Path
) -> None:
    """R requests/s per site across both workers, from the server's own timestamps: no one-second
    window holds more than R + 1 requests to a site (one for the timing jitter of a loaded
    machine), where two workers each paced at R on their own would put 2R in it; and the
    busiest site, R + 2 requests at a time, goes no faster than R on average."""
    require_corpus()
    url, prefix = redis_url
    rate = 4
    blocked = "www.hankookilbo.com"
    run = distributed_crawl(
        fresh_db, url, prefix, tmp_path / "logs", articles=80, workers=2, latency=0.25,
        settings={
            "DISTRIBUTED_SITE_RATE": str(rate), "ROBOTSTXT_OBEY": "1",
            # one worker alone (3 requests at a time, pages taking 0.25 s) cannot use the
            # budgets of all the sites: both workers compete for each site's slots
            "CONCURRENT_REQUESTS": "3",
        },
        robots={blocked: "User-agent: *\nDisallow: /\n"},
        inject=("news.v.daum.net/v/", 429, {"Retry-After": "2"}),
    )  # fmt: skip
    why = describe(run)
    assert run.worker_codes == [0, 0], why
    sites = per_site(run.times)
    busiest = max(sites, key=lambda h: len(sites[h]))
    assert len(sites[busiest]) >= 3 * rate, (busiest, len(sites[busiest]))
    for host, ts in sites.items():
        for i in range(len(ts) - rate - 1):  # R + 2 consecutive requests span over a second
            assert ts[i + rate + 1] - ts[i] > 1.0, (host, i, [round(t - ts[0], 3) for t in ts])
    ts = sites[busiest]  # on average no faster than R (less half a second of jitter)
    assert ts[-1] - ts[0] >= (len(ts) - 1) / rate - 0.5, [round(t - ts[0], 3) for t in ts]
    # a 429 with Retry-After: 2 held that site for both workers
    [t429] = [t for t, u in run.times if "news.v.daum.net/v/" in u][:1]
    after = [t for t, u in run.times if urlsplit(u).hostname == "news.v.daum.net" and t > t429]
    assert after and min(after) - t429 >= 2.0 - 0.1, [round(t - t429, 3) for t in after]
    # both workers worked
    fetched = [s.get("downloader/response_count", 0) for s in run.worker_stats]
    assert all(n > 0 for n in fetched), fetched
    # robots.txt: each worker asked each site at most once, and nobody fetched a disallowed page
    robots = Counter(u for u in run.requests.elements() if u.endswith("/robots.txt"))
    assert robots and max(robots.values()) <= 2, robots
    assert not [u for u in run.article_urls if urlsplit(u).hostname == blocked], why
    refused = [
        (url, reason)
        for _, url, reason in iter_errors(run.run["errors"])
        if urlsplit(url).hostname == blocked
    ]
    assert refused and all("robots" in reason.lower() for _, reason in refused), why
    assert run.stored == 80 - len(refused) and run.stored_twice == 0, why
    assert run.run["status"] == "errors", why  # refusals are failures, named with their URL


def test_crawl_distributed_is_enqueue_and_a_worker_and_queue_shows_the_job(
    fresh_db: str, redis_url: tuple[str, str], tmp_path: Path
) -> None:
    """`sosik crawl … --distributed`: one command queues the job, works on it until it is
    finished, and ends with the job's summary and exit code; `sosik queue` shows the job."""
    require_corpus()
    url, prefix = redis_url
    site = _replay.SyntheticSite(20)
    cluster = Cluster(fresh_db, url, prefix, tmp_path / "logs")
    first, last = site.day_range()
    with ReplayServer(site) as server:
        p = subprocess.run(
            [
                sys.executable, "-m", "crawler.cli", "crawl", "naver_section",
                "--section", str(_replay.SID1), "--sub", _replay.SID2,
                "--date", first.isoformat(), "--distributed", *legacy_layout(),
                "-s", f"REPLAY_URL={server.url}", *cluster.sets({}),
            ],  # fmt: skip
            cwd=REPO, env=cluster.env(), capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert first == last
        assert p.returncode == 0, p.stderr[-3000:]
        assert "sosik crawl naver_section: ok" in p.stderr
        assert len(server.requested()) == 22  # 20 articles, list page 1 and its repeat
    assert stored(fresh_db) == (20, 0)
    q = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "queue", "--json", *cluster.sets({})],
        cwd=REPO, env=cluster.env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    cluster.close()
    assert q.returncode == 0, q.stderr
    snap = json.loads(q.stdout)
    [job] = snap["jobs"]
    assert job["state"] == "done" and job["run_id"] == run_record(fresh_db)["id"]
    [f] = job["frontiers"]
    assert (f["pending"], f["in_flight"], f["done"], f["failed"]) == (0, 0, 22, 0)
