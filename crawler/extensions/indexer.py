"""The search indexer: articles into `article_search`, in a process of its own.

`sosik db reindex` runs `Indexer.run_pass` (every article whose index row is missing, of an
older version or of older rules, in id order, `batch` at a time) and with `--follow` goes on:
it listens on `sosik_articles` (new articles and new versions), indexes what is notified, and
makes a full pass again every `full_pass_seconds` as a net under lost notifications.

Why a process: kiwipiepy costs ~15 ms of CPU per article and holds the GIL; inside a crawl it
would take that time from the reactor that downloads and parses. A crawl therefore starts this
command as a niced child process (`SearchIndexExtension`) and stops it when it closes.

Safe to run at any time and resumable: each batch is read, cut (no transaction open) and
written in one statement of its own, so a killed indexer loses at most one batch of work and
the next run finds the rest by the same query. A row is written only while its article is
still at the version that was cut. One indexer works per database: the lease `search-index`
(db.locks.Lease) keeps a second one (another crawl's) waiting, not competing.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import IO, Any

from crawler.domain.terms import document_vector, tokenizer_version, warm_up

logger = logging.getLogger(__name__)

LEASE = "search-index"
BATCH = 100
POLL_SECONDS = 2.0  # how long a follower waits for notifications between checks
FULL_PASS_SECONDS = 600.0


@dataclass(slots=True)
class IndexStats:
    """What an indexer did so far, reported after each batch (the `--report` JSON lines, the
    progress line).
    """

    indexed: int = 0  # rows written by this indexer
    skipped: int = 0  # articles that changed version while being cut (indexed later)
    pending: int | None = None  # articles waiting, when last counted
    waiting: bool = False  # another indexer holds the lease
    seconds: float = 0.0  # spent cutting text (CPU-bound work)

    def line(self) -> str:
        """The stats as one JSON line: the `--report` file's format, which SearchIndexExtension
        reads back.
        """
        return json.dumps(asdict(self))


class Indexer:
    """Keeps `article_search` in step with the articles (see the module): passes in id order, or
    following notifications.
    """

    def __init__(
        self,
        url: str,
        *,
        batch: int = BATCH,
        stop: threading.Event | None = None,
        report: Callable[[IndexStats], None] | None = None,
    ) -> None:
        self.url = url
        self.batch = batch
        self.stop = stop or threading.Event()
        self.report = report or (lambda stats: None)
        self.tokenizer = tokenizer_version()
        self.stats = IndexStats()
        self.cursor = 0  # the highest article id a pass has reached

    # -- work -------------------------------------------------------------------------------
    def index(self, conn: Any, articles: list[Any]) -> None:
        """Cut and write one batch."""
        from db.search import store_vectors

        warm_up()  # the model's loading is not the articles' cost
        started = time.process_time()
        rows = [
            (a.id, a.version, document_vector(a.title, a.subtitle, a.body, _facets(a)))
            for a in articles
        ]
        self.stats.seconds += time.process_time() - started
        written = store_vectors(conn, rows, self.tokenizer)
        self.stats.indexed += written
        self.stats.skipped += len(rows) - written
        self.report(self.stats)

    def run_pass(self, conn: Any, after: int = 0) -> int:
        """Index every article after id `after` that needs it; how many were written."""
        from db.search import pending_articles

        before = self.stats.indexed
        while not self.stop.is_set():
            articles = pending_articles(conn, after, self.batch, self.tokenizer)
            if not articles:
                break
            self.index(conn, articles)
            after = articles[-1].id
            self.cursor = max(self.cursor, after)
        return self.stats.indexed - before

    def count_pending(self, conn: Any) -> None:
        """Counts the articles still waiting for the index (for this tokenizer version) into
        `stats.pending`, and reports it.
        """
        from db.search import index_status

        self.stats.pending = index_status(conn, self.tokenizer)[1]
        self.report(self.stats)

    def follow(
        self, conn: Any, listener: Any, full_pass_seconds: float = FULL_PASS_SECONDS
    ) -> None:
        """Index as articles come (notifications on `listener`, a second connection), with a
        full pass every `full_pass_seconds`, until `stop` is set."""
        from db.feed import listen
        from db.search import pending_by_ids

        last_full = time.monotonic()
        while not self.stop.is_set():
            ids = set(listen(listener, timeout=POLL_SECONDS))
            if self.stop.is_set():
                break
            if time.monotonic() - last_full >= full_pass_seconds:
                self.run_pass(conn)
                self.count_pending(conn)
                last_full = time.monotonic()
                continue
            older = sorted(i for i in ids if i <= self.cursor)
            for start in range(0, len(older), self.batch):
                if self.stop.is_set():
                    return
                articles = pending_by_ids(conn, older[start : start + self.batch], self.tokenizer)
                if articles:
                    self.index(conn, articles)
            if any(i > self.cursor for i in ids) and self.run_pass(conn, self.cursor):
                self.count_pending(conn)


def _facets(article: Any) -> dict[str, str | None]:
    return {"portal": article.portal, "publisher": article.publisher, "section": article.section}


def run(
    url: str,
    *,
    follow: bool = False,
    batch: int = BATCH,
    stop: threading.Event | None = None,
    report: Callable[[IndexStats], None] | None = None,
    parent: int | None = None,
    full_pass_seconds: float = FULL_PASS_SECONDS,
) -> IndexStats:
    """`sosik db reindex`: one pass (or, with `follow`, until `stop`). Holds the lease while it
    works; without it, waits for it when following, else returns with `waiting` set."""
    from db.connection import connect
    from db.feed import LISTEN
    from db.locks import Lease

    stop = stop or threading.Event()
    if parent is not None:
        _watch_parent(parent, stop)
    indexer = Indexer(url, batch=batch, stop=stop, report=report)
    while not stop.is_set():
        with Lease(url, LEASE) as lease:
            if lease.held:
                indexer.stats.waiting = False
                with connect(url) as conn, connect(url) as listener:
                    if follow:  # before the first pass: what is stored during it is notified
                        listener.execute(LISTEN)
                    indexer.run_pass(conn)
                    indexer.count_pending(conn)
                    if follow and not stop.is_set():
                        _until_lost(indexer, conn, listener, lease, full_pass_seconds)
                return indexer.stats
            indexer.stats.waiting = True
            indexer.report(indexer.stats)
            logger.info("another indexer holds the lease (%s)", lease.holder)
        if not follow:
            return indexer.stats
        stop.wait(POLL_SECONDS * 5)
    return indexer.stats


def _until_lost(indexer: Indexer, conn: Any, listener: Any, lease: Any, full: float) -> None:
    # a lost lease (the database was away longer than its ttl) ends the follower's turn
    def watch() -> None:
        lease.lost.wait()
        indexer.stop.set()

    threading.Thread(target=watch, daemon=True, name="sosik-index-lease").start()
    indexer.follow(conn, listener, full)


def _watch_parent(parent: int, stop: threading.Event) -> None:
    """Set `stop` when the process that started us is gone (a crawl killed with -9)."""

    def watch() -> None:
        while not stop.wait(1.0):
            if os.getppid() != parent:
                stop.set()

    threading.Thread(target=watch, daemon=True, name="sosik-index-parent").start()


def json_reporter(out: IO[str]) -> Callable[[IndexStats], None]:
    """A report callback writing one JSON line per report to `out` (flushed)."""

    def report(stats: IndexStats) -> None:
        out.write(stats.line() + "\n")
        out.flush()

    return report


# -- inside a crawl -----------------------------------------------------------------------------
OFF = ("off", "0", "false", "no")
STOP_WAIT = 20.0  # seconds a stopped indexer may take to finish its batch before it is killed
NICE = 10


class SearchIndexExtension:
    """Scrapy extension: `sosik db reindex --follow` as a niced child process for the crawl's
    length, so what the crawl stores becomes searchable while it runs, without taking CPU from
    the reactor. Stats `search_index/indexed` (by this child) and `search_index/pending` (left
    when the crawl closed). SOSIK_SEARCH_INDEX=off (setting or environment) turns it off."""

    def __init__(self, crawler: Any) -> None:
        import sys
        import tempfile

        from scrapy import signals
        from scrapy.exceptions import NotConfigured

        from crawler.extensions.metrics import setting

        if setting(crawler.settings, "SOSIK_SEARCH_INDEX", "on").strip().lower() in OFF:
            # no message: Scrapy would log one as a warning on every crawl that turned it off
            raise NotConfigured
        self.crawler = crawler
        self.owner: Any = None
        self.python = sys.executable
        self.dir = tempfile.mkdtemp(prefix="sosik-index-")
        self.process: Any = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Any) -> SearchIndexExtension:
        """Built with the crawler; NotConfigured when SOSIK_SEARCH_INDEX is off."""
        return cls(crawler)

    @property
    def report_path(self) -> str:
        """Where the child writes its JSON stats lines, in this crawl's temporary directory."""
        return os.path.join(self.dir, "report.jsonl")

    def spider_opened(self, spider: Any) -> None:
        """Starts `sosik db reindex --follow` niced against the owner's database, its output kept
        for the log; without a DatabaseOwner only a warning.
        """
        import subprocess

        from crawler.extensions.owner import DatabaseOwner

        self.owner = DatabaseOwner.find(self.crawler)  # built after this extension
        if self.owner is None:
            logger.warning("no database owner in this crawl: search indexer not started")
            return
        self.owner.on_close(self.close)

        command = [
            self.python, "-m", "crawler.cli", "db", "reindex", "--follow", "--nice", str(NICE),
            "--report", self.report_path, "--parent", str(os.getpid()),
        ]  # fmt: skip
        env = {**os.environ, "DATABASE_URL": self.owner.url}
        try:
            with open(os.path.join(self.dir, "stderr.log"), "wb") as err:
                self.process = subprocess.Popen(
                    command, env=env, stdin=subprocess.DEVNULL, stdout=err, stderr=err
                )
        except OSError as exc:
            logger.error("could not start the search indexer: %s", exc)
            self.crawler.stats.set_value("search_index/failed", 1)

    async def close(self) -> None:
        """At the crawl's close, before the database is let go: stops the child, sets
        `search_index/indexed`, `search_index/failed` for an abnormal end, and
        `search_index/pending`; removes the temporary directory.
        """
        import shutil

        from db.search import index_status

        stats = self.crawler.stats
        if self.process is not None:
            code = await self.owner.run_io(self._stop)
            last = self._last_report()
            stats.set_value("search_index/indexed", last.get("indexed", 0))
            if code not in (0, -signal.SIGTERM):  # SIGTERM before its handler: it had not begun
                stats.set_value("search_index/failed", 1)
                logger.error("the search indexer ended with %s: %s", code, self._stderr_tail())
        try:
            _, pending = await self.owner.run(index_status, tokenizer_version())
            stats.set_value("search_index/pending", pending)
        except Exception as exc:
            logger.warning("could not count the articles waiting for the search index: %s", exc)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _stop(self) -> int:
        """SIGTERM (it ends after its batch), then SIGKILL after STOP_WAIT seconds."""
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def _last_report(self) -> dict[str, Any]:
        try:
            with open(self.report_path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return {}
        return json.loads(lines[-1]) if lines else {}

    def _stderr_tail(self) -> str:
        try:
            with open(os.path.join(self.dir, "stderr.log"), "rb") as f:
                return f.read()[-500:].decode("utf-8", "replace").strip()
        except OSError:
            return ""
