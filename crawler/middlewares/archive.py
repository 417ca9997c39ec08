"""The raw-page archive, as a downloader middleware: every fetched page kept, compressed.

On with `SOSIK_ARCHIVE=1` (scheduled crawls turn it on). Pages land in `pages` with their URL,
status, declared charset and bytes, so `sosik reparse` can run today's parsers over what was
fetched without fetching again. robots.txt answers are not kept.

Pages are written in batches (SOSIK_ARCHIVE_BATCH) through the crawl's database owner, on a
database thread: compressing and inserting never hold the reactor. A batch that cannot be
written after one retry is counted (`archive/error`) and each of its pages named in the run
record (kind `archive`): the crawl goes on, its articles matter more than its archive, but the
run does not end `ok`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import sleep
from scrapy.utils.defer import deferred_from_coro

from crawler.domain.dates import KST
from crawler.domain.portals import site_key
from crawler.extensions.owner import DatabaseOwner

logger = logging.getLogger(__name__)


def charset_of(content_type: bytes | None) -> str | None:
    """The charset named in a Content-Type header, lower-cased; None when there is none."""
    ctype = (content_type or b"").decode("latin-1").lower()
    if "charset=" not in ctype:
        return None
    return ctype.split("charset=", 1)[1].split(";")[0].strip().strip('"') or None


class ArchiveMiddleware:
    """Downloader middleware (SOSIK_ARCHIVE=1): keeps each fetched response's bytes, status,
    charset and KST fetch time in the `pages` table (what `sosik reparse` reads), written in
    batches of SOSIK_ARCHIVE_BATCH.
    """

    def __init__(self, crawler: Any) -> None:
        if not crawler.settings.getbool("SOSIK_ARCHIVE"):
            raise NotConfigured
        self.crawler = crawler
        self.owner = DatabaseOwner.of(crawler)
        self.batch = crawler.settings.getint("SOSIK_ARCHIVE_BATCH", 50)
        self.pending: list[dict[str, Any]] = []
        self.writing: Any = None  # the Deferred of the batch being written
        self.owner.on_close(self.close)

    @classmethod
    def from_crawler(cls, crawler):
        """Raises NotConfigured unless SOSIK_ARCHIVE is on."""
        return cls(crawler)

    def process_response(self, request, response, spider=None):
        """Queues the response for the archive (robots.txt excluded) and starts writing a full
        batch; the response passes unchanged.
        """
        if request.meta.get("dont_obey_robotstxt") or response.url.endswith("/robots.txt"):
            return response
        self.pending.append(
            {
                "url": response.url,
                "status": response.status,
                "encoding": charset_of(response.headers.get("Content-Type")),
                "body": response.body,
                "portal": site_key(response.url) or "generic",
                "fetched_at": datetime.now(KST),
            }
        )
        if len(self.pending) >= self.batch and self.writing is None:
            self.writing = deferred_from_coro(self._drain(until=self.batch))
        return response

    async def close(self) -> None:
        """The rest, before the owner closes the run (its closers run at spider_closed)."""
        while self.writing is not None:
            from scrapy.utils.defer import maybe_deferred_to_future

            await maybe_deferred_to_future(self.writing)
        await self._drain(until=1)

    async def _drain(self, until: int) -> None:
        from db.pages import archive_pages

        try:
            while len(self.pending) >= until:
                pages, self.pending = self.pending[: self.batch], self.pending[self.batch :]
                for page in pages:
                    page["crawl_run_id"] = self.owner.context.run_id
                for attempt in (1, 2):
                    try:
                        n = await self.owner.run(archive_pages, pages)
                        self.crawler.stats.inc_value("archive/pages", n)
                        break
                    except Exception as e:
                        if attempt == 1:
                            await sleep(1.0)
                            continue
                        self.crawler.stats.inc_value("archive/error", len(pages))
                        logger.error("could not archive %d pages: %s", len(pages), e)
                        for page in pages:
                            self.owner.context.fail("archive", page["url"], f"not archived: {e}")
        finally:
            self.writing = None
