"""Downloader middlewares: fetch hygiene.

- Retries that honour `Retry-After` (429/503) or back off exponentially (the other retry codes,
  cut responses), and hold nothing while they wait: the retry leaves the downloader at once and
  is parked on a reactor timer, outside the scheduler, so every download slot and the global
  concurrency stay free for the other requests; the spider is kept open while retries are
  parked.
- A response that is not whole is a fetch error, never a page: cut short (Scrapy's `dataloss`
  flag, or an HTML document cut mid-document, see `cut_reason`) or empty. It is retried first;
  when the retries are spent it reaches the request's errback as `TruncatedResponse`, named
  with its URL, and is never parsed into an article (nor archived).
- A body over `DOWNLOAD_MAXSIZE` is cancelled by Scrapy before it is read whole; the errback
  gets `ResponseTooLarge` naming the limit instead of a bare cancellation.

robots.txt for the requests that wait for it together is crawler/middlewares/robots.py.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import signals
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import (
    DontCloseSpider,
    DownloadCancelledError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.asyncio import CallLaterResult, call_later

logger = logging.getLogger(__name__)

# The meta key a retry carries from process_response to the request_scheduled handler.
DELAY_META = "sosik_retry_delay"
# A request whose answer may legitimately be empty or a fragment (an API page past the end)
# sets this meta key to skip the whole-page check.
PARTIAL_OK_META = "sosik_partial_ok"


class FetchError(Exception):
    """A download that produced no usable page; its message is the reason the run records."""


class TruncatedResponse(FetchError):
    """The body is not the whole document (cut short, or empty), after every retry."""


class ResponseTooLarge(FetchError):
    """The body is larger than DOWNLOAD_MAXSIZE: cancelled before it was read whole."""


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks to wait: delta-seconds or an HTTP date."""
    if value is None:
        return None
    s = value.decode("latin-1") if isinstance(value, bytes) else value
    s = s.strip()
    if s.isdigit():
        return float(s)
    try:
        when = parsedate_to_datetime(s)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


# -- is this HTML document whole? ------------------------------------------------------------
_DOC_OPENED = re.compile(rb"<!doctype html|<html[\s>/]|<body[\s>/]")
_RAW_TEXT = (b"script", b"style", b"textarea", b"title")
# Elements whose end tag HTML never lets a page omit (void elements and p, li, td, … whose end
# tags are optional are left out): a document cut in its middle leaves several of them open; a
# whole one closes them (every real page of the corpus within one stray <div>, tests/fetch).
_CLOSED_ELEMENTS = (
    b"div|section|article|main|header|footer|nav|aside|table|ul|ol|dl|form|figure|figcaption|"
    b"blockquote|span|a|em|strong|b|i|u|s|small|sup|sub|font|center|h[1-6]|button|label|select"
)
_ELEMENT = re.compile(rb"<(/?)(" + _CLOSED_ELEMENTS + rb")[\s>/]")
_SKIPPED = re.compile(
    rb"<!--.*?(?:-->|\Z)|<(script|style|textarea|title)[\s>].*?(?:</\1\s*>|\Z)", re.S
)
# A start tag of one of them: a match of _ELEMENT without its "/".
_START_TAG = re.compile(rb"<(?:" + _CLOSED_ELEMENTS + rb")[\s>/]")
# "<script>" or "<script …": where a raw-text element opens.
_RAW_OPEN = {name: re.compile(rb"<" + name + rb"[> ]") for name in _RAW_TEXT}
_TAG_START = frozenset(b"abcdefghijklmnopqrstuvwxyz/!?")
_TAIL = 65536  # bytes of a document's end that _last_element_start searches first
MAX_OPEN_WHEN_WHOLE = 1  # elements a whole page may leave open (sloppy markup)


def cut_reason(body: bytes) -> str | None:
    """Why an HTML document looks cut short, or None when it looks whole.

    Only documents that opened with a doctype, `<html>` or `<body>` are judged (fragments and
    JSON are not). Such a document is cut when

    1. it ends inside markup: in a tag (`<div class="a`), a comment, or a script, style,
       textarea or title element; or inside a UTF-8 character;
    2. it opened `<head>` and ends before both `<body>` and `</html>` (nothing of its body came);
    3. or it has no `</body>`/`</html>` end tag after its last element, and more than
       MAX_OPEN_WHEN_WHOLE elements whose end tag is never optional (div, section, table, ul,
       span, a, em, h1, …) are left open at its end.

    HTML lets a page omit `</body>` and `</html>`; such a page still closes its other elements
    and does not end inside a tag, so rule 3 spares it. A page cut after its `</body>` has its
    content whole and is not judged cut.
    """
    low = body.rstrip().lower()
    if not _DOC_OPENED.search(low):
        return None
    # Each test reads the document once: opened after the last close, searched from that close.
    if low.find(b"<!--", low.rfind(b"-->") + 1) >= 0:
        return "ends inside a comment"
    for name in _RAW_TEXT:
        if _RAW_OPEN[name].search(low, low.rfind(b"</" + name) + 1):
            return f"ends inside <{name.decode()}>"
    lt, gt = low.rfind(b"<"), low.rfind(b">")
    if lt > gt and (lt + 1 == len(low) or low[lt + 1] in _TAG_START):
        return "ends inside a tag"
    if _ends_mid_character(low):
        return "ends inside a UTF-8 character"
    end = max(low.rfind(b"</body"), low.rfind(b"</html"))
    if end < 0 and b"<head" in low and not re.search(rb"<body[\s>/]", low):
        return "ends before its <body>"
    if end >= max(0, len(low) - _TAIL):
        # The end tag is in the tail _last_element_start searches first: it comes after the last
        # start tag exactly when no start tag follows it (what a whole page has: 1 ms less a page).
        if not _START_TAG.search(low, end):
            return None
    elif end >= 0 and end > _last_element_start(low):
        return None
    depth: dict[bytes, int] = {}
    for m in _ELEMENT.finditer(_SKIPPED.sub(b"", low)):
        depth[m.group(2)] = depth.get(m.group(2), 0) + (-1 if m.group(1) else 1)
    left_open = sum(n for n in depth.values() if n > 0)
    if left_open > MAX_OPEN_WHEN_WHOLE:
        return f"no </body> or </html>, {left_open} elements left open"
    return None


def _ends_mid_character(body: bytes) -> bool:
    """A UTF-8 text whose last bytes begin a character they do not finish."""
    i = len(body) - 1
    while i >= 0 and len(body) - i <= 3 and 0x80 <= body[i] <= 0xBF:
        i -= 1  # continuation bytes
    if i < 0 or not 0xC2 <= body[i] <= 0xF4:
        return False
    need = 2 if body[i] < 0xE0 else 3 if body[i] < 0xF0 else 4
    if len(body) - i >= need:
        return False
    start = max(0, i - 256)
    while start < i and 0x80 <= body[start] <= 0xBF:
        start += 1
    try:  # the text before is UTF-8 (a CP949 page's bytes are not)
        body[start:i].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _last_element_start(low: bytes) -> int:
    """Where the last start tag of a never-optional element begins (searched from the end)."""
    step = _TAIL
    stop = len(low)
    while stop > 0:
        start = max(0, stop - step)
        found = -1
        for m in _ELEMENT.finditer(low, start, stop):
            if not m.group(1):
                found = m.start()
        if found >= 0:
            return found
        stop = start
    return -1


def truncation(request: Request, response: Response) -> str | None:
    """Why a 2xx response is not a whole page, or None."""
    if request.method == "HEAD" or not 200 <= response.status < 300 or response.status == 204:
        return None
    if request.meta.get(PARTIAL_OK_META):
        return None
    if "dataloss" in response.flags:
        return "shorter than its Content-Length"
    if not isinstance(response, HtmlResponse):
        return None
    if not response.body.strip():
        return "empty body"
    return cut_reason(response.body)


# -- retries that wait without holding anything ------------------------------------------------
class RetryAfterMiddleware(RetryMiddleware):
    """Retry 429/503 after their Retry-After, the other retry codes and cut responses after an
    exponential backoff (RETRYAFTER_BACKOFF_BASE, doubled per attempt), waiting off the
    downloader.

    A retry waits on a timer, not in the middleware: process_response hands the retry request
    back at once (so the response leaves the downloader and frees its slot and its place in
    CONCURRENT_REQUESTS), the request_scheduled handler parks it instead of queueing it, and the
    timer puts it into the engine when the wait is over. While requests are parked the spider
    is kept open. Parked retries still waiting when the spider closes (a stop) are logged with
    their URL and counted (`retry/abandoned`).
    """

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.max_wait = settings.getfloat("RETRYAFTER_MAX_WAIT", 300.0)
        self.backoff = settings.getfloat("RETRYAFTER_BACKOFF_BASE", 2.0)
        self.maxsize = settings.getint("DOWNLOAD_MAXSIZE")
        self.parked: dict[int, tuple[Request, CallLaterResult]] = {}

    @classmethod
    def from_crawler(cls, crawler):
        """Also connects the parking signals and has abandoned retries reach the run record before
        it closes.
        """
        mw = super().from_crawler(crawler)
        crawler.signals.connect(mw.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(mw.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        from crawler.extensions.owner import DatabaseOwner

        owner = DatabaseOwner.find(crawler)
        if owner is not None:  # abandoned retries reach the run record before it is closed
            owner.on_close(mw._abandon_async)
        return mw

    def process_response(self, request, response, spider=None):
        """For a retry code: a retry, parked for Retry-After (429/503) or the backoff, capped at
        RETRYAFTER_MAX_WAIT seconds; the response when retries are used up. A body cut short is
        retried the same way, and raises TruncatedResponse when retries are used up.
        """
        stats = self.crawler.stats
        if response.status in self.retry_http_codes:
            if request.meta.get("dont_retry", False):
                return response
            attempt = request.meta.get("retry_times", 0)
            wait = None
            if response.status in (429, 503):
                wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is None:
                wait = self.backoff * (2**attempt)
            wait = min(wait, self.max_wait)
            stats.inc_value(f"retry/status_{response.status}")
            retry = self._retry(request, f"{response.status} (waits {wait:.1f}s)")
            if retry is None:
                return response
            logger.info(
                "%s answered %s; retry %d in %.1fs", request.url, response.status, attempt + 1, wait
            )
            return self.later(retry, wait)
        cut = truncation(request, response)
        if cut is None:
            return response
        stats.inc_value("fetch/truncated")
        url = request.meta.get("replay_original", request.url)
        retry = None
        if not request.meta.get("dont_retry", False):
            retry = self._retry(request, f"truncated ({cut})")
        if retry is None:
            raise TruncatedResponse(f"truncated response ({cut}), {len(response.body)} bytes")
        wait = min(self.backoff * (2 ** request.meta.get("retry_times", 0)), self.max_wait)
        logger.info("%s is cut short (%s); retry in %.1fs", url, cut, wait)
        return self.later(retry, wait)

    def process_exception(self, request, exception, spider=None):
        """Scrapy's retry for network errors; raises TruncatedResponse for a cut body and
        ResponseTooLarge for a body over DOWNLOAD_MAXSIZE.
        """
        result = super().process_exception(request, exception)
        if result is not None:
            return result
        if isinstance(exception, ResponseDataLossError):
            raise TruncatedResponse(
                "truncated response (the connection closed before Content-Length bytes came)"
            ) from exception
        if isinstance(exception, DownloadCancelledError):
            self.crawler.stats.inc_value("fetch/too_large")
            raise ResponseTooLarge(
                f"response larger than DOWNLOAD_MAXSIZE ({self.maxsize} bytes), not read"
            ) from exception
        return None

    # -- parking -------------------------------------------------------------------------------
    def later(self, retry: Request, wait: float) -> Request:
        """The retry request, marked to be parked `wait` seconds when the engine schedules it."""
        if wait > 0:
            retry.meta[DELAY_META] = wait
            self.crawler.stats.inc_value("retry/wait_seconds", wait)
        return retry

    def request_scheduled(self, request: Request, spider: Any = None) -> None:
        """Parks a retry with a delay instead of queueing it: raises IgnoreRequest and has a timer
        give it to the engine when due.
        """
        wait = request.meta.pop(DELAY_META, None)
        if not wait:
            return
        handle = call_later(wait, self._release, request)
        self.parked[id(request)] = (request, handle)
        self.crawler.stats.inc_value("retry/parked")
        self.crawler.stats.max_value("retry/parked_max", len(self.parked))
        raise IgnoreRequest("parked until its retry is due")  # not queued now: see _release

    def parked_requests(self) -> list[Request]:
        """The retries waiting for their time (not in the scheduler meanwhile)."""
        return [request for request, _ in self.parked.values()]

    def _release(self, request: Request) -> None:
        if self.parked.pop(id(request), None) is None:
            return
        engine = self.crawler.engine
        if engine is None or engine.spider is None:
            return
        engine.crawl(request)

    def spider_idle(self, spider: Any = None) -> None:
        """Keeps the spider open (DontCloseSpider) while retries are parked."""
        if self.parked:
            raise DontCloseSpider

    def spider_closed(self, spider: Any = None, reason: str = "") -> None:
        """Logs and counts the parked retries still waiting, with their URLs (`retry/abandoned`)."""
        self._abandon(reason)

    async def _abandon_async(self) -> None:
        self._abandon(self.crawler.stats.get_value("finish_reason") or "closed")

    def _abandon(self, reason: str) -> None:
        """Retries still waiting when the spider closes (SIGTERM) are not fetched: each is
        counted and named in the run record with its URL, so the run cannot end `ok`."""
        spider = self.crawler.spider
        for request, handle in self.parked.values():
            handle.cancel()
            url = request.meta.get("replay_original", request.url)
            self.crawler.stats.inc_value("retry/abandoned")
            why = f"retry abandoned: the crawl closed ({reason}) while it waited"
            if hasattr(spider, "record_error"):
                spider.record_error("fetch", url, why)
            else:
                logger.warning("%s: %s", url, why)
        self.parked.clear()
