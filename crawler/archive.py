"""The raw-page archive, as a downloader middleware: every fetched page kept, compressed.

On with `SOSIK_ARCHIVE=1` (scheduled crawls turn it on). Pages land in `pages` with their URL,
status, declared charset and bytes, so `sosik reparse` can run today's parsers over what was
fetched without fetching again. robots.txt answers are not kept. A failed write is logged and
counted (`archive/error`), never fatal: the crawl's articles matter more than its archive.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from scrapy.exceptions import NotConfigured

from crawler.dates import KST
from crawler.parsers.registry import site_key

logger = logging.getLogger(__name__)


def charset_of(content_type: bytes | None) -> str | None:
    ctype = (content_type or b"").decode("latin-1").lower()
    if "charset=" not in ctype:
        return None
    return ctype.split("charset=", 1)[1].split(";")[0].strip().strip('"') or None


class ArchiveMiddleware:
    def __init__(self, crawler: Any) -> None:
        if not crawler.settings.getbool("SOSIK_ARCHIVE"):
            raise NotConfigured
        self.crawler = crawler
        self.database_url = crawler.settings.get("STORE_DATABASE_URL") or None
        self.conn: Any = None

    @classmethod
    def from_crawler(cls, crawler):  # noqa: ANN001, ANN206
        return cls(crawler)

    def process_response(self, request, response, spider=None):  # noqa: ANN001, ANN201
        if request.meta.get("dont_obey_robotstxt") or response.url.endswith("/robots.txt"):
            return response
        from db.connection import connect
        from db.pages import archive_page

        stats = self.crawler.stats
        try:
            if self.conn is None or self.conn.closed:
                self.conn = connect(self.database_url)
            archive_page(
                self.conn,
                url=response.url,
                status=response.status,
                encoding=charset_of(response.headers.get("Content-Type")),
                body=response.body,
                portal=site_key(response.url) or "generic",
                crawl_run_id=getattr(self.crawler, "sosik_run_id", None),
                fetched_at=datetime.now(KST),
            )
            stats.inc_value("archive/pages")
        except Exception as e:  # noqa: BLE001 - archiving must never stop a crawl
            stats.inc_value("archive/error")
            logger.error("could not archive %s: %s", response.url, e)
        return response
