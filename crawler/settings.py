"""Scrapy settings for sosik: polite by default, every component's own prefixed settings.

Operators override any of these with `sosik crawl … -s NAME=VALUE` or `SOSIK_*` environment
variables read in crawler.launch (apply_environment).
"""

from __future__ import annotations

from scrapy.settings.default_settings import RETRY_EXCEPTIONS as _scrapy_retry_exceptions

BOT_NAME = "sosik"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# `scrapy crawl` is sosik's own (crawler/scrapy_commands): the exit codes and settings of
# `sosik crawl`.
COMMANDS_MODULE = "crawler.scrapy_commands"

# An honest User-Agent with a contact address (SOSIK_CONTACT sets it from the environment).
SOSIK_CONTACT = "set SOSIK_CONTACT to an e-mail or URL"
USER_AGENT = "sosik/0.1 (+news research crawler; contact: set SOSIK_CONTACT)"

# Politeness: robots.txt, few requests per site at once, a delay, AutoThrottle.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# Items of one response processed at once; no callback yields more than ~40, and Scrapy starts
# a task per slot for every callback output, which costs CPU when it is needlessly large.
CONCURRENT_ITEMS = 32
# Scrapy checks every generator callback's source for a `return value` on every response (its
# cache is keyed by the bound method, a new object each time): an ast.parse per page, ~3% of a
# crawl's CPU. Our callbacks are checked by ruff and the tests instead.
WARN_ON_GENERATOR_RETURN_VALUE = False
DOWNLOAD_DELAY = 0.5
DOWNLOAD_DELAY_JITTER = 0.5  # ±50% around the delay
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# A name that does not resolve is not retried: without network every retry costs a slot delay
# and changes nothing (the page is named as a fetch error in the run record all the same).
RETRY_EXCEPTIONS = [
    e for e in _scrapy_retry_exceptions if e != "scrapy.exceptions.CannotResolveHostError"
]
# No news page needs more: the largest real page seen is 0.55 MB (a Naver search page). A body
# over DOWNLOAD_MAXSIZE is cancelled unread and is a named fetch error (a 50 MB page was once
# parsed at 930 MB RSS); over DOWNLOAD_WARNSIZE a warning names it.
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    # Retries that wait without holding a slot (Retry-After, backoff) and cut responses made
    # fetch errors replace Scrapy's plain retry middleware.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.retry.RetryAfterMiddleware": 550,
    # The archive keeps every fetched page under its real URL (replay has restored it by then),
    # decompressed (after 590) and only once the retry middleware let it through (never cut).
    "crawler.middlewares.archive.ArchiveMiddleware": 540,
    # robots.txt obeyed also by the requests that wait for it together (Scrapy's own lets all
    # but the first of them through).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.robots.SharedRobotsTxtMiddleware": 100,
    # Replay rewrites requests to the local server after every other middleware saw the real URL.
    "crawler.middlewares.replay.ReplayMiddleware": 950,
}

ITEM_PIPELINES = {
    "pipelines.validate.ValidatePipeline": 100,
    "pipelines.clean.CleanPipeline": 200,
    "pipelines.dedupe.DedupePipeline": 300,
    "pipelines.store.StorePipeline": 400,
}

SPIDER_MIDDLEWARES = {
    # A re-run of a killed crawl does not fetch again the articles it stored (crawler.extensions.owner).
    "crawler.extensions.owner.ResumeFilter": 950,
}

EXTENSIONS = {
    # The crawl's one owner of the database: pool, run record, calls off the reactor.
    "crawler.extensions.owner.DatabaseOwner": 100,
    # A live progress line on stderr (SOSIK_PROGRESS=0 turns it off).
    "crawler.extensions.progress.Progress": 500,
    # /metrics for Prometheus, only when SOSIK_METRICS_PORT is set (crawler/extensions/metrics.py).
    "crawler.extensions.metrics.Metrics": 510,
    # `sosik db reindex --follow` as a niced child process (SOSIK_SEARCH_INDEX=off: not started).
    "crawler.extensions.indexer.SearchIndexExtension": 520,
}

# Component settings (each component reads only its prefix).
STORE_BATCH_SIZE = 250  # articles written per transaction (bench/store.py: 250-500 is the knee)
STORE_FLUSH_SECONDS = 5.0  # and at least this often
STORE_CLUSTER_DISTANCE = 3  # SimHash bits within which two articles are one story
STORE_CLUSTER_WINDOW_DAYS = 3
STORE_SUSPECT_RATIO = 0.5  # a new text shorter than this share of the stored one is held
STORE_BUFFER_ITEMS = 2000  # items kept in memory at most (then backpressure, or the spill file)
STORE_BUFFER_BYTES = 64 * 2**20
STORE_RETRY_SECONDS = 30.0  # how long a failed batch is retried before it goes to the spill file
STORE_RETRY_BACKOFF = 0.5  # seconds before the first retry, doubled up to the max
STORE_RETRY_BACKOFF_MAX = 5.0
SOSIK_DB_THREADS = 4  # database threads and pooled connections of a crawl
SOSIK_HEARTBEAT_SECONDS = 30.0  # a running crawl says so this often (killed-run detection)
DEDUPE_PREFILTER = True
DEDUPE_PREFILTER_WINDOW = 10_000  # recent items the in-run prefilter remembers

# Naver's search loader answering `{"collection": null}` (a transient failure, never the end):
# retried this many times, after NAVER_EMPTY_BACKOFF seconds doubling (crawler/spiders/naver.py).
NAVER_EMPTY_RETRIES = 3
NAVER_EMPTY_BACKOFF = 2.0

# Retry-After handling (crawler.middlewares.retry.RetryAfterMiddleware)
RETRYAFTER_MAX_WAIT = 300  # seconds; a longer Retry-After is capped here
RETRYAFTER_BACKOFF_BASE = 2.0  # seconds, doubled per retry when no Retry-After is given

# Raw-page archive (crawler.middlewares.archive): off for hand-run crawls unless SOSIK_ARCHIVE=1; the
# scheduler turns it on for scheduled ones.
SOSIK_ARCHIVE = False

FEED_EXPORT_ENCODING = "utf-8"
