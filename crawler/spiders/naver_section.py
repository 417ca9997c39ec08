"""Naver News by section and date: every article of a section's list, all pages.

    scrapy crawl naver_section -a section=100 [-a sub=267] -a date=2022-12-29
    scrapy crawl naver_section -a section=경제 -a since=2024-08-01 -a until=2024-08-03

Sections: 정치 100, 경제 101, 사회 102, 생활/문화 103, 세계 104, IT/과학 105. The list is paged
with `page=N`; paging stops when a page brings no link the crawl has not seen (Naver repeats
the last page for any page number past the end).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from crawler.dates import parse_date_arg
from crawler.spiders.base import SosikSpider

SECTIONS = {
    "정치": 100,
    "경제": 101,
    "사회": 102,
    "생활/문화": 103,
    "생활": 103,
    "문화": 103,
    "세계": 104,
    "IT/과학": 105,
    "it": 105,
    "IT": 105,
    "과학": 105,
}
LIST_URL = "https://news.naver.com/main/main.naver"
MAX_PAGES = 500


def list_url(sid1: int, day: date | None, page: int, sid2: str | None = None) -> str:
    params: dict[str, Any] = {"mode": "LS2D" if sid2 else "LSD", "mid": "shm", "sid1": sid1}
    if sid2:
        params["sid2"] = sid2
    if day:
        params["date"] = f"{day:%Y%m%d}"
    if page > 1:
        params["page"] = page
    return f"{LIST_URL}?{urlencode(params)}"


class NaverSectionSpider(SosikSpider):
    name = "naver_section"
    portal = "naver"

    def __init__(
        self, section: str | None = None, sub: str | None = None, *args: Any, **kwargs: Any
    ) -> None:
        kwargs.setdefault("pages", 0)
        super().__init__(*args, **kwargs)
        if not section:
            raise ValueError("naver_section needs -a section=100…105 or a name (정치, 경제, …)")
        self.sid1 = int(section) if str(section).isdigit() else SECTIONS.get(section, 0)
        if self.sid1 not in range(100, 106):
            raise ValueError(f"unknown section {section!r}; use 100..105 or {sorted(SECTIONS)}")
        self.sid2 = sub
        one = parse_date_arg(kwargs["date"]) if kwargs.get("date") else None
        self.days: list[date | None]
        if one:
            self.days = [one]
        elif self.since or self.until:
            start, end = self.since or self.until, self.until or self.since
            assert start and end
            self.days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        else:
            self.days = [None]  # today's list

    async def start(self) -> Any:
        for day in self.days:
            yield self.list_request(day, 1)

    def list_request(self, day: date | None, page: int) -> scrapy.Request:
        return scrapy.Request(
            list_url(self.sid1, day, page, self.sid2),
            callback=self.parse_list,
            errback=self.errback,
            cb_kwargs={"day": day, "page": page},
        )

    def parse_list(self, response: Response, day: date | None, page: int) -> Iterator[Any]:
        parsed = self.list_page(response)
        if parsed is None:
            return
        _, new = parsed
        for url in new:
            yield self.article_request(url, [url])
        if new and page < MAX_PAGES and not (self.max_pages and page >= self.max_pages):
            yield self.list_request(day, page + 1)
