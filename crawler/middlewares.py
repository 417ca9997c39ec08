"""Downloader middlewares: retries that honour Retry-After."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.utils.asyncio import sleep

logger = logging.getLogger(__name__)


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


class RetryAfterMiddleware(RetryMiddleware):
    """Retry 429/503 (and the other retry codes) after the wait the server asks for.

    Without a Retry-After header the wait doubles per attempt from RETRYAFTER_BACKOFF_BASE.
    The wait happens before the retry is scheduled and holds no download slot.
    """

    def __init__(self, settings) -> None:  # noqa: ANN001 - Scrapy's BaseSettings
        super().__init__(settings)
        self.max_wait = settings.getfloat("RETRYAFTER_MAX_WAIT", 300.0)
        self.backoff = settings.getfloat("RETRYAFTER_BACKOFF_BASE", 2.0)

    async def process_response(self, request, response, spider=None):  # noqa: ANN001, ANN201
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        attempt = request.meta.get("retry_times", 0)
        wait = None
        if response.status in (429, 503):
            wait = retry_after_seconds(response.headers.get("Retry-After"))
        if wait is None:
            wait = self.backoff * (2**attempt)
        wait = min(wait, self.max_wait)
        stats = self.crawler.stats
        stats.inc_value(f"retry/status_{response.status}")
        stats.inc_value("retry/wait_seconds", wait)
        retry = self._retry(request, f"{response.status} (waited {wait:.1f}s)")
        if retry is None:
            return response
        logger.info(
            "%s answered %s; waiting %.1fs before retry %d",
            request.url,
            response.status,
            wait,
            attempt + 1,
        )
        await sleep(wait)
        return retry
