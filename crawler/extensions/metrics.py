"""Prometheus metrics: a `/metrics` endpoint when SOSIK_METRICS_PORT is set.

Everything lives in a registry of our own (never prometheus_client's global one), so two
crawlers in one process (`sosik crawl all`) share one endpoint and tests can read a registry
without touching anything global. Counters are read from each crawler's Scrapy stats when
Prometheus scrapes (the stats are already the crawl's single source of truth), the response
latency histogram is fed from `response_received`, and `sosik_last_success_timestamp_seconds`
is set when a crawl closes with status ok or errors. The scheduler (`sosik schedule run`)
serves the same gauge for every job from `crawl_runs` (see SchedulerMetrics).

A short batch crawl is over before Prometheus looks; SOSIK_METRICS_HOLD=seconds keeps the
endpoint up after the crawl until it has been scraped once more or the seconds have passed.

Settings (or environment variables of the same name): SOSIK_METRICS_PORT, SOSIK_METRICS_ADDR
(default 127.0.0.1; 0.0.0.0 in a container), SOSIK_METRICS_HOLD.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from scrapy import signals
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SUCCESS = ("ok", "errors")
LAST_SUCCESS = "sosik_last_success_timestamp_seconds"
LAST_SUCCESS_HELP = "Unix time a crawl of this job last finished ok (or with some page errors)"


def setting(settings: Any, name: str, default: str = "") -> str:
    """A sosik setting from `-s NAME=…`, else the environment variable of the same name."""
    v = settings.get(name) if settings is not None else None
    if v in (None, ""):
        v = os.environ.get(name, default)
    return str(v)


def stat_families(sources: list[tuple[str, str, dict[str, Any]]]) -> list[Metric]:
    """Counter families from (spider, job, stats) triples (pure, so it is tested directly)."""
    labels = ["spider", "job"]
    pages = CounterMetricFamily("sosik_pages", "Pages fetched, by kind", labels=[*labels, "kind"])
    responses = CounterMetricFamily(
        "sosik_responses", "HTTP responses, by status", labels=[*labels, "status"]
    )
    items = CounterMetricFamily(
        "sosik_items", "Articles the store wrote, by outcome", labels=[*labels, "outcome"]
    )
    hits = CounterMetricFamily("sosik_search_hits", "Search hits stored", labels=labels)
    drops = CounterMetricFamily(
        "sosik_dropped", "Items dropped, by stage and reason", labels=[*labels, "reason"]
    )
    errors = CounterMetricFamily(
        "sosik_errors", "Pages that failed to fetch or parse", labels=[*labels, "kind"]
    )
    retries = CounterMetricFamily(
        "sosik_retries", "Retries, by the status that caused them", labels=[*labels, "status"]
    )
    for spider, job, stats in sources:
        base = [spider, job]
        for kind in ("search", "article", "list"):
            pages.add_metric([*base, kind], stats.get(f"pages/{kind}", 0))
        for outcome in ("inserted", "updated", "unchanged"):
            items.add_metric([*base, outcome], stats.get(f"store/{outcome}", 0))
        hits.add_metric(base, stats.get("store/search_hits", 0))
        for kind in ("fetch", "parse"):
            errors.add_metric([*base, kind], stats.get(f"{kind}/error", 0))
        for key, value in sorted(stats.items()):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            if key.startswith("downloader/response_status_count/"):
                responses.add_metric([*base, key.rsplit("/", 1)[1]], value)
            elif key.startswith("retry/status_"):
                retries.add_metric([*base, key[len("retry/status_") :]], value)
            elif "/dropped_" in key:
                stage, _, reason = key.partition("/dropped_")
                drops.add_metric([*base, f"{stage}_{reason}"], value)
    return [pages, responses, items, hits, drops, errors, retries]


class _CrawlCollector:
    """Reads the stats of every crawler registered with the endpoint, at scrape time."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    def collect(self) -> Iterator[Metric]:
        sources = []
        running = GaugeMetricFamily(
            "sosik_crawl_running",
            "1 while the crawl runs, 0 once it closed",
            labels=["spider", "job"],
        )
        for ext in list(self.endpoint.sources):
            stats = _copy(ext.crawler.stats.get_stats())
            sources.append((ext.spider_name, ext.job, stats))
            running.add_metric([ext.spider_name, ext.job], 0 if ext.closed else 1)
        yield from stat_families(sources)
        yield running
        self.endpoint.scraped()


def _copy(stats: dict[str, Any]) -> dict[str, Any]:
    for _ in range(3):
        try:
            return dict(stats)
        except RuntimeError:  # changed size while copied from the scrape thread
            continue
    return {}


class _Served:
    """A registry of our own and the HTTP server that exposes it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._server: Any = None

    def serve(self, port: int, addr: str) -> None:
        self._server, _ = start_http_server(port, addr=addr, registry=self.registry)
        logger.info("metrics on http://%s:%s/metrics", addr, port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class Endpoint(_Served):
    """One HTTP endpoint and registry per process, shared by its crawlers."""

    def __init__(self, port: int, addr: str = "127.0.0.1") -> None:
        super().__init__()
        self.port = port
        self.addr = addr
        self.latency = Histogram(
            "sosik_response_latency_seconds",
            "Time from sending a request to its response",
            ["spider"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.last_success = Gauge(
            LAST_SUCCESS,
            LAST_SUCCESS_HELP,
            ["job"],
            registry=self.registry,
        )
        self.sources: list[Metrics] = []
        self.registry.register(_CrawlCollector(self))
        self._after_close = threading.Event()

    def start(self) -> None:
        """Starts serving /metrics on this endpoint's address and port."""
        self.serve(self.port, self.addr)

    def all_closed(self) -> bool:
        """True once every crawl registered here has closed (False while none is registered)."""
        return bool(self.sources) and all(s.closed for s in self.sources)

    def scraped(self) -> None:
        """Called after each scrape: the scrape after every crawl closed ends the hold (see
        wait_for_scrape).
        """
        if self.all_closed():
            self._after_close.set()

    def wait_for_scrape(self, seconds: float) -> bool:
        """Block until the endpoint was scraped after every crawl closed, or time ran out."""
        return self._after_close.wait(seconds)


_endpoints: dict[tuple[str, int], Endpoint] = {}
_lock = threading.Lock()


def endpoint_for(port: int, addr: str) -> Endpoint:
    """The process's endpoint on addr:port, started on first use."""
    with _lock:
        ep = _endpoints.get((addr, port))
        if ep is None:
            ep = Endpoint(port, addr)
            ep.start()
            _endpoints[(addr, port)] = ep
        return ep


def release(ep: Endpoint) -> None:
    """Stops the endpoint and forgets it, unless another endpoint has since taken its address and
    port.
    """
    with _lock:
        if _endpoints.get((ep.addr, ep.port)) is ep:
            del _endpoints[(ep.addr, ep.port)]
    ep.stop()


class Metrics:
    """Scrapy extension: exposes the crawl's counters on SOSIK_METRICS_PORT."""

    def __init__(self, crawler: Any, port: int, addr: str, hold: float) -> None:
        self.crawler = crawler
        self.port = port
        self.addr = addr
        self.hold = hold
        self.job = setting(crawler.settings, "SOSIK_JOB")
        self.endpoint: Endpoint | None = None
        self.closed = False
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.response_received, signal=signals.response_received)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        """Off (NotConfigured) unless SOSIK_METRICS_PORT is set; SOSIK_METRICS_HOLD (seconds) and
        SOSIK_METRICS_ADDR (default 127.0.0.1) are read too; ValueError when port or hold is not a
        number.
        """
        s = crawler.settings
        port = setting(s, "SOSIK_METRICS_PORT")
        if not port:
            raise NotConfigured  # off unless SOSIK_METRICS_PORT is set; nothing to log
        try:
            number = int(port)
            hold = float(setting(s, "SOSIK_METRICS_HOLD", "0") or 0)
        except ValueError:
            raise ValueError(
                f"SOSIK_METRICS_PORT/SOSIK_METRICS_HOLD must be numbers, got {port!r}"
            ) from None
        return cls(crawler, number, setting(s, "SOSIK_METRICS_ADDR", "127.0.0.1"), hold)

    @property
    def spider_name(self) -> str:
        """The running spider's name, the latency histogram's label; "?" before the engine has a
        spider.
        """
        spider = getattr(self.crawler, "spider", None)
        return spider.name if spider is not None else "?"

    def spider_opened(self, spider: Any) -> None:
        """Joins the process's endpoint for SOSIK_METRICS_PORT; if it cannot listen, logs why and
        the crawl goes on without metrics.
        """
        if not self.job:
            self.job = spider.name
        try:
            self.endpoint = endpoint_for(self.port, self.addr)
        except OSError as e:
            logger.error(
                "metrics: cannot listen on %s:%s (%s); crawling without metrics",
                self.addr,
                self.port,
                e.strerror or e,
            )
            return
        self.endpoint.sources.append(self)

    def response_received(self, response: Any, request: Any, spider: Any = None) -> None:
        """Observes the response's download latency (seconds) in the spider's histogram."""
        latency = request.meta.get("download_latency") if request is not None else None
        if self.endpoint is not None and latency is not None:
            self.endpoint.latency.labels(self.spider_name).observe(latency)

    def spider_closed(self, spider: Any, reason: str) -> Any:
        """Sets the job's last-success gauge when the owner assessed the run a success; the last
        crawl to close releases the endpoint, after up to SOSIK_METRICS_HOLD seconds waiting for a
        final scrape (a Deferred then).
        """
        ep = self.endpoint
        from crawler.extensions.owner import run_context

        ctx = run_context(self.crawler)  # the owner assessed the run before this handler ran
        assessment = ctx.assessment if ctx is not None else None
        if ep is not None and assessment is not None and assessment.status in SUCCESS:
            ep.last_success.labels(self.job).set(time.time())
        self.closed = True  # after the gauge: a scrape that sees "closed" sees the final values
        if ep is None:
            return None
        if not ep.all_closed():
            return None
        if self.hold <= 0:
            release(ep)
            return None
        from twisted.internet import threads

        logger.info("metrics: holding the endpoint up to %.0fs for a last scrape", self.hold)
        d = threads.deferToThread(ep.wait_for_scrape, self.hold)
        d.addBoth(lambda _: release(ep))
        return d


# -- the scheduler's endpoint ------------------------------------------------------------------
class _JobCollector:
    """Last successful run per job, read from crawl_runs at scrape time."""

    def __init__(self, read: Callable[[], dict[str, float]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        g = GaugeMetricFamily(
            LAST_SUCCESS,
            LAST_SUCCESS_HELP,
            labels=["job"],
        )
        try:
            for job, ts in sorted(self.read().items()):
                g.add_metric([job], ts)
            up = 1
        except Exception as e:
            logger.warning("metrics: could not read crawl_runs: %s", e)
            up = 0
        yield g
        db = GaugeMetricFamily("sosik_database_up", "1 when crawl_runs could be read")
        db.add_metric([], up)
        yield db


class SchedulerMetrics(_Served):
    """The scheduler's endpoint: last success per job, job runs and lock skips."""

    def __init__(self, read_last_success: Callable[[], dict[str, float]]) -> None:
        super().__init__()
        self.registry.register(_JobCollector(read_last_success))
        self.runs = Counter(
            "sosik_job_runs", "Job runs, by result", ["job", "result"], registry=self.registry
        )
        self.skipped = Counter(
            "sosik_job_skipped",
            "Job runs skipped: another scheduler holds the job",
            ["job"],
            registry=self.registry,
        )
        self.duration = Gauge(
            "sosik_job_last_duration_seconds",
            "How long the job's last run took",
            ["job"],
            registry=self.registry,
        )

    def start(self, port: int, addr: str = "127.0.0.1") -> None:
        """Starts serving the scheduler's /metrics on `addr`:`port`."""
        self.serve(port, addr)
