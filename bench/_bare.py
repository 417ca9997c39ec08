"""Bare Scrapy over the replay site: the same URLs as our crawl, no parsing, no storage.

    python bench/_bare.py URLS_FILE REPLAY_URL

A child process of bench/e2e.py: a plain Scrapy spider requests every URL of the file (the
list pages and article pages our crawl fetches) through the same replay middleware, with the
same concurrency and politeness off, and its callback does nothing. Its closing stats give the
ceiling our crawl is measured against: what Scrapy alone fetches from this site, this machine.
"""

from __future__ import annotations

import sys
from typing import Any

import _common  # noqa: F401 - puts the repository on sys.path
import scrapy
from scrapy.crawler import CrawlerProcess


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, urls: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls_file = urls

    async def start(self) -> Any:
        with open(self.urls_file, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield scrapy.Request(line.strip(), callback=self.parse, dont_filter=True)

    def parse(self, response: Any) -> None:
        return None


def main() -> None:
    urls, replay = sys.argv[1], sys.argv[2]
    process = CrawlerProcess(
        {
            "REPLAY_URL": replay,
            "DOWNLOADER_MIDDLEWARES": {"crawler.middlewares.replay.ReplayMiddleware": 950},
            "ROBOTSTXT_OBEY": False,
            "COOKIES_ENABLED": False,
            "DOWNLOAD_DELAY": 0,
            "CONCURRENT_REQUESTS": 16,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
            "TELNETCONSOLE_ENABLED": False,
            "LOGSTATS_INTERVAL": 600,
            "LOG_LEVEL": "INFO",
        }
    )
    process.crawl(BareSpider, urls=urls)
    process.start()


if __name__ == "__main__":
    main()
