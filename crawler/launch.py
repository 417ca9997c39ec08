"""What `sosik crawl` and `scrapy crawl` share around the Scrapy engine, so they behave alike.

- `apply_environment`: SOSIK_CONTACT (into the User-Agent), SOSIK_ARCHIVE, DATABASE_URL
  become settings, unless the command line set them (`-s NAME=VALUE` wins).
- `quiet_logs`: network failures in one line without a traceback; log lines that repeat what
  the run record and the summary already name (Scrapy's own "Gave up retrying", "Error
  downloading robots.txt" for an unreachable host) shown at INFO only; passwords masked.
- `finish`: the end of a crawl as an operator sees it — the summary table, or, when nothing at
  all could be fetched (no network), the one line that says why — and the exit code.
"""

from __future__ import annotations

import logging
import os
from typing import Any, TextIO

from crawler.errors import guard_logging
from crawler.extensions.progress import pages_fetched

CMDLINE = 40  # Scrapy's "cmdline" priority, the highest


def apply_environment(settings: Any) -> None:
    """Settings from SOSIK_* variables and DATABASE_URL, below what `-s` set on the command line."""

    def put(name: str, value: Any) -> None:
        if (settings.getpriority(name) or 0) < CMDLINE:
            settings.set(name, value, priority="cmdline")

    contact = os.environ.get("SOSIK_CONTACT")
    if contact:
        put("SOSIK_CONTACT", contact)
        put("USER_AGENT", f"sosik/0.1 (+news research crawler; contact: {contact})")
    if os.environ.get("SOSIK_ARCHIVE"):
        put("SOSIK_ARCHIVE", os.environ["SOSIK_ARCHIVE"] not in ("0", "false", "no", ""))
    if os.environ.get("DATABASE_URL"):
        from db.connection import database_url

        put("STORE_DATABASE_URL", database_url())  # checked: a malformed one is one line


def prepare_database(settings: Any) -> None:
    """Check the store's database URL and bring its schema up to date (one line if it fails)."""
    from db.dsn import check_dsn, remember
    from db.migrate import upgrade

    url = settings.get("STORE_DATABASE_URL") or None
    if url:
        remember(url)
        check_dsn(url, "STORE_DATABASE_URL")
    upgrade(url)


# -- logs --------------------------------------------------------------------------------------
# Loggers whose failure lines repeat what the spider records (URL and reason) for the run.
ECHOES = ("scrapy.downloadermiddlewares.retry", "scrapy.downloadermiddlewares.robotstxt")


class NetworkErrorsInOneLine(logging.Filter):
    """Network failures (no DNS, refused, timeout) are facts about the world, not bugs: their
    message without a traceback, and Scrapy's own echoes of a failure the run record names at
    INFO (dropped below the handler's level). Every other exception keeps its traceback."""

    def __init__(self, handler: logging.Handler) -> None:
        super().__init__()
        self.handler = handler

    def filter(self, record: logging.LogRecord) -> bool:
        """Shortens a network failure to one line, lowers the ECHOES' failure lines to INFO, and
        keeps only what reaches the handler's level.
        """
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and is_network_error(exc):
            record.msg = f"{record.getMessage()}: {exc}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        if record.name in ECHOES and record.levelno > logging.INFO:
            record.levelno, record.levelname = logging.INFO, "INFO"
        return record.levelno >= self.handler.level


def is_network_error(exc: BaseException) -> bool:
    """True when the exception, or one it came from, is a network failure (DNS, refused, timeout,
    connection lost, no response).
    """
    from scrapy.exceptions import CannotResolveHostError
    from twisted.internet import error as terr

    network = (
        CannotResolveHostError,
        terr.DNSLookupError,
        terr.ConnectError,
        terr.TimeoutError,
        terr.ConnectionLost,
        TimeoutError,
        ConnectionError,
    )
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, network) or type(seen).__name__ in (
            "ResponseNeverReceived",
            "DownloadTimeoutError",
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def quiet_logs() -> None:
    """Install the filters on Scrapy's root handler (after `crawl()`: each crawler re-installs
    it)."""
    from scrapy.utils import log as scrapy_log

    handler = getattr(scrapy_log, "_scrapy_root_handler", None)
    if handler is not None:
        guard_logging([handler], NetworkErrorsInOneLine(handler))
    guard_logging(None)


# -- the end -----------------------------------------------------------------------------------
def finish(outcome: Any, out: TextIO, prog: str = "sosik") -> int:
    """Print the end of a crawl (summary, or the one reason nothing could be fetched); its exit
    code."""
    from crawler.report import print_summary

    nothing = pages_fetched(outcome.stats) == 0
    failures = outcome.failures()
    if outcome.status == "failed" and nothing and failures:
        _, url, reason = failures[0]
        out.write(f"{prog}: crawl failed: could not fetch {url}: {reason}\n")
        return int(outcome.exit_code)
    print_summary(outcome, out)
    if outcome.status == "failed":
        why = "; ".join(outcome.reasons) or "see the log above"
        out.write(f"{prog}: crawl failed: {why}\n")
    return int(outcome.exit_code)
