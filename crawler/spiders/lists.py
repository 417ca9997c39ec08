"""Any section list page as a source: every article of the list, all its pages.

    scrapy crawl list -a url=https://www.yna.co.kr/international/asia-australia [-a pages=3]
    sosik crawl list --url https://www.yna.co.kr/economy/all --url https://…

The list page's site parser gives the links of its main list and the next page's URL (Yonhap
section lists, Naver's list pages, Daum lists, Seoul Shinmun section lists); paging stops at the last page, at `pages`, or when a page
brings no link not seen before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.spiders.base import SosikSpider

MAX_PAGES = 500


class ListSpider(SosikSpider):
    """Every article linked from the given list pages (`-a url=…`, comma-separated), following their
    pagers.
    """

    name = "list"
    portal = "list"

    @classmethod
    def cli_arguments(cls, args: Any) -> dict[str, Any]:
        """The spider arguments from `sosik crawl`'s options; ValueError without --url."""
        if not args.url:
            raise ValueError("list needs --url (a section list page; repeat for several)")
        return {"url": ",".join(args.url)}

    def __init__(self, url: str | None = None, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("pages", 0)
        super().__init__(*args, **kwargs)
        if not url:
            raise ValueError("list needs -a url=… (comma-separated for several)")
        self.urls = [u.strip() for u in url.split(",") if u.strip()]

    async def start(self) -> Any:
        """The first page of each list URL."""
        for url in self.urls:
            yield self.list_request(url, 1)

    def list_request(self, url: str, page: int) -> scrapy.Request:
        """The request for page `page` of a list."""
        return scrapy.Request(
            url, callback=self.parse_list, errback=self.errback, cb_kwargs={"page": page}
        )

    def parse_list(self, response: Response, page: int) -> Iterator[Any]:
        """Requests for the list's articles not seen yet, and for its next page while the page
        brought new links, up to `pages` (else MAX_PAGES).
        """
        parsed = self.list_page(response)
        if parsed is None:
            return
        result, new = parsed
        for url in new:
            yield self.article_request(url, [url])
        limit = self.max_pages or MAX_PAGES
        if new and result.next_url and page < limit:
            yield self.next_list_request(response, result.next_url, page + 1)

    def next_list_request(self, response: Response, next_url: str, page: int) -> scrapy.Request:
        """The request for the page after `response` (a portal's spider may adjust the URL)."""
        return self.list_request(next_url, page)
