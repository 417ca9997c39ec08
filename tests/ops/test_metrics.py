"""Prometheus metrics: counter families from stats, the extension's endpoint over real HTTP."""

from __future__ import annotations

import socket
import urllib.request

import pytest
from prometheus_client import REGISTRY
from scrapy.http import Request, Response
from scrapy.spiders import Spider
from scrapy.utils.test import get_crawler

from crawler.extensions.metrics import Metrics, SchedulerMetrics, stat_families
from crawler.runrecord import Assessment
from tests.ops.opskit import free_port


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def samples(families) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def test_families_from_stats():
    stats = {
        "pages/search": 2,
        "pages/article": 18,
        "store/inserted": 15,
        "store/search_hits": 20,
        "dedupe/dropped_hash": 2,
        "validate/dropped_no_body": 1,
        "fetch/error": 1,
        "retry/status_429": 1,
        "downloader/response_status_count/200": 19,
        "downloader/response_status_count/429": 1,
    }
    got = samples(stat_families([("naver", "nightly", stats)]))
    lab = (("job", "nightly"), ("spider", "naver"))
    assert got[("sosik_pages_total", (*lab[:1], ("kind", "article"), *lab[1:]))] == 18
    assert got[("sosik_items_total", (*lab[:1], ("outcome", "inserted"), *lab[1:]))] == 15
    assert got[("sosik_search_hits_total", lab)] == 20
    assert got[("sosik_dropped_total", (*lab[:1], ("reason", "dedupe_hash"), *lab[1:]))] == 2
    assert got[("sosik_dropped_total", (*lab[:1], ("reason", "validate_no_body"), *lab[1:]))] == 1
    assert got[("sosik_errors_total", (*lab[:1], ("kind", "fetch"), *lab[1:]))] == 1
    assert got[("sosik_retries_total", (*lab[:1], ("spider", "naver"), ("status", "429")))] == 1
    assert got[("sosik_responses_total", (*lab[:1], ("spider", "naver"), ("status", "200")))] == 19


def test_extension_serves_during_and_after_the_crawl_in_its_own_registry():
    port = free_port()
    crawler = get_crawler(Spider, {"SOSIK_METRICS_PORT": str(port), "SOSIK_JOB": "nightly"})
    ext = Metrics.from_crawler(crawler)
    spider = Spider(name="naver")
    crawler.spider = spider
    before = set(REGISTRY._names_to_collectors)
    ext.spider_opened(spider)
    try:
        crawler.stats.set_value("pages/search", 3)
        crawler.stats.set_value("dedupe/dropped_url", 2)
        request = Request("https://search.naver.com/x", meta={"download_latency": 0.3})
        ext.response_received(Response(request.url, request=request), request, spider)
        text = scrape(port)
        assert 'sosik_pages_total{job="nightly",kind="search",spider="naver"} 3.0' in text
        assert 'sosik_dropped_total{job="nightly",reason="dedupe_url",spider="naver"} 2.0' in text
        assert 'sosik_response_latency_seconds_count{spider="naver"} 1.0' in text
        assert 'sosik_crawl_running{job="nightly",spider="naver"} 1.0' in text
        crawler.sosik_assessment = Assessment("ok")
        ext.hold = 0
    finally:
        ext.spider_closed(spider, "finished")
    assert set(REGISTRY._names_to_collectors) == before  # never the global registry
    with pytest.raises(OSError):
        scrape(port)  # released once the crawl closed (no hold asked)


def test_last_success_is_set_only_for_a_successful_run():
    port = free_port()
    crawler = get_crawler(Spider, {"SOSIK_METRICS_PORT": str(port)})
    ext = Metrics.from_crawler(crawler)
    spider = Spider(name="daum")
    crawler.spider = spider
    ext.spider_opened(spider)
    ep = ext.endpoint
    crawler.sosik_assessment = Assessment("degraded", ["x"])
    ext.spider_closed(spider, "finished")
    assert (
        ep.registry.get_sample_value("sosik_last_success_timestamp_seconds", {"job": "daum"})
        is None
    )


def test_a_busy_port_does_not_stop_the_crawl(caplog):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        crawler = get_crawler(Spider, {"SOSIK_METRICS_PORT": str(port)})
        ext = Metrics.from_crawler(crawler)
        spider = Spider(name="naver")
        crawler.spider = spider
        ext.spider_opened(spider)
        assert ext.endpoint is None
        assert "crawling without metrics" in caplog.text
        ext.spider_closed(spider, "finished")


def test_scheduler_endpoint_reads_last_success_per_job_at_scrape_time():
    calls = []

    def read() -> dict[str, float]:
        calls.append(1)
        return {"nvidia": 1722470400.0, "chips": 1722474000.0}

    m = SchedulerMetrics(read)
    port = free_port()
    m.start(port)
    try:
        m.runs.labels("nvidia", "ok").inc()
        m.skipped.labels("chips").inc()
        text = scrape(port)
    finally:
        m.stop()
    assert 'sosik_last_success_timestamp_seconds{job="nvidia"} 1.7224704e+09' in text
    assert 'sosik_job_runs_total{job="nvidia",result="ok"} 1.0' in text
    assert 'sosik_job_skipped_total{job="chips"} 1.0' in text
    assert "sosik_database_up 1.0" in text
    assert calls


def test_scheduler_endpoint_answers_without_a_database():
    def read() -> dict[str, float]:
        raise RuntimeError("database down")

    m = SchedulerMetrics(read)
    port = free_port()
    m.start(port)
    try:
        assert "sosik_database_up 0.0" in scrape(port)
    finally:
        m.stop()
