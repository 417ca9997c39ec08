"""Seoul Shinmun's own news search, then each result's article.

    scrapy crawl seoul -a query=엔비디아 -a pages=3 [-a since=YYYY-MM-DD -a until=YYYY-MM-DD]

The site's search takes only `keyword` and `page` (20 results a page, newest first); a date
filter is not known to work there, so `since`/`until` are applied to the results' dates and
paging stops once a whole page is older than `since`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from crawler.spiders.base import SosikSpider

SEARCH_URL = "https://search.seoul.co.kr/index.php"
PAGE_SIZE = 20


def search_url(query: str, page: int) -> str:
    params: dict[str, Any] = {"keyword": query}
    if page > 1:
        params["page"] = page
    return f"{SEARCH_URL}?{urlencode(params)}"


class SeoulSpider(SosikSpider):
    name = "seoul"
    portal = "seoul"

    def __init__(self, query: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not query:
            raise ValueError("seoul needs -a query=…")
        self.query = query

    async def start(self) -> Any:
        yield self.search_request(1)

    def search_request(self, page: int) -> scrapy.Request:
        return scrapy.Request(
            search_url(self.query, page),
            callback=self.parse_search,
            errback=self.errback,
            cb_kwargs={"page": page},
        )

    def parse_search(self, response: Response, page: int) -> Iterator[Any]:
        result = self.search_page(response)
        if result is None:
            return
        known = self.page_is_known(result.hits)  # before this page's hits are stored
        older = 0
        for hit in result.hits:
            day = hit.published_at.date() if hit.published_at else None
            if day and self.since and day < self.since:
                older += 1
                continue
            if day and self.until and day > self.until:
                continue
            hit.page, hit.query = page, self.query
            yield hit
            if self.follow_articles:
                yield self.article_request(hit.url, [hit.url, hit.portal_url])
        if known or (result.hits and older == len(result.hits)):
            return  # newest first: every later page is older still (or stored already)
        more = result.has_next if result.has_next is not None else len(result.hits) >= PAGE_SIZE
        if more and not (self.max_pages and page >= self.max_pages):
            yield self.search_request(page + 1)
