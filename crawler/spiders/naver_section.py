"""Naver News by section: every article of a section's feed (today, or one day's archive).

    scrapy crawl naver_section -a section=경제                    # today's feed
    scrapy crawl naver_section -a section=100 [-a sub=267] -a date=2022-12-29
    scrapy crawl naver_section -a section=경제 -a since=2024-08-01 -a until=2024-08-03
    scrapy crawl naver_section -a section=101 -a layout=legacy   # the old main.naver lists only

Sections: 정치 100, 경제 101, 사회 102, 생활/문화 103, 세계 104, IT/과학 105.

Today's layout (since 2023): the section page `news.naver.com/section/{sid}` (a sub-section:
`/breakingnews/section/{sid}/{sid2}`) lists the headlines and the first block of its article
feed; "기사 더보기" asks `/section/template/SECTION_ARTICLE_LIST?sid=…&pageNo=N&next=<cursor>`
for the next block, JSON with the block's HTML and the cursor after it. A day's archive is the
same feed asked with `date=YYYYMMDD` at `SECTION_ARTICLE_LIST_FOR_LATEST`. The cursor and the
template name are read from each page and block (crawler.parsers.naver.parse_list), so only
the first address of a crawl is built here.

The legacy lists (`main.naver?mode=LSD&sid1=…&date=…&page=N`, EUC-KR) are still served: with
`layout=legacy`, and as a fallback when the first address of today's layout cannot be fetched
(counted as `naver_section/legacy_fallback`, with a warning). Paging stops at a block without a
next cursor, at `pages`, or at a block that brings no link the crawl has not seen (Naver
repeats the last legacy page for any page number past the end).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from crawler.domain.dates import parse_date_arg
from crawler.spiders.base import SosikSpider
from crawler.spiders.naver import xhr_headers

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
NEWS = "https://news.naver.com"
LIST_URL = f"{NEWS}/main/main.naver"
DAY_TEMPLATE = "SECTION_ARTICLE_LIST_FOR_LATEST"
LAYOUTS = ("section", "legacy")
MAX_PAGES = 500


def list_url(sid1: int, day: date | None, page: int, sid2: str | None = None) -> str:
    """A legacy list page (main.naver, LSD / LS2D with a sub-section)."""
    params: dict[str, Any] = {"mode": "LS2D" if sid2 else "LSD", "mid": "shm", "sid1": sid1}
    if sid2:
        params["sid2"] = sid2
    if day:
        params["date"] = f"{day:%Y%m%d}"
    if page > 1:
        params["page"] = page
    return f"{LIST_URL}?{urlencode(params)}"


def section_url(sid1: int, sid2: str | None = None) -> str:
    """Today's section page (the feed's first block is in it)."""
    if sid2:
        return f"{NEWS}/breakingnews/section/{sid1}/{sid2}"
    return f"{NEWS}/section/{sid1}"


def day_url(sid1: int, day: date, sid2: str | None = None) -> str:
    """The first block of one day's feed (public crawlers of 2024-2026 ask exactly this)."""
    params = {"sid": sid1, "sid2": sid2 or "", "cluid": "", "pageNo": 1, "date": f"{day:%Y%m%d}"}
    return f"{NEWS}/section/template/{DAY_TEMPLATE}?{urlencode(params)}&next="


class NaverSectionSpider(SosikSpider):
    """Naver news by section (100..105 or its Korean name), one feed per day asked for, the legacy
    list as fallback (see the module).
    """

    name = "naver_section"
    portal = "naver"

    @classmethod
    def cli_arguments(cls, args: Any) -> dict[str, Any]:
        """The spider arguments from `sosik crawl`'s options; ValueError without --section."""
        if not args.section:
            raise ValueError("naver_section needs --section (100..105 or 정치, 경제, …)")
        out: dict[str, Any] = {"section": args.section}
        if args.sub:
            out["sub"] = args.sub
        if args.date:
            out["date"] = args.date.isoformat()
        if args.layout:
            out["layout"] = args.layout
        return out

    def __init__(
        self,
        section: str | None = None,
        sub: str | None = None,
        layout: str = "section",
        *args: Any,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("pages", 0)
        super().__init__(*args, **kwargs)
        if not section:
            raise ValueError("naver_section needs -a section=100…105 or a name (정치, 경제, …)")
        self.sid1 = int(section) if str(section).isdigit() else SECTIONS.get(section, 0)
        if self.sid1 not in range(100, 106):
            raise ValueError(f"unknown section {section!r}; use 100..105 or {sorted(SECTIONS)}")
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
        self.layout = layout
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
            self.days = [None]  # today's feed

    async def start(self) -> Any:
        """Each day's first request: the legacy list, or the section feed (today's section page when
        no day is given).
        """
        for day in self.days:
            if self.layout == "legacy":
                yield self.list_request(day, 1)
            else:
                yield self.feed_request(
                    day_url(self.sid1, day, self.sid2)
                    if day
                    else section_url(self.sid1, self.sid2),
                    day,
                    1,
                )

    # -- today's layout ----------------------------------------------------------------------
    def feed_request(self, url: str, day: date | None, page: int) -> scrapy.Request:
        """A section page (page 1 without a day) or a feed block (JSON, asked like the XHR)."""
        headers = xhr_headers(section_url(self.sid1, self.sid2)) if page > 1 or day else None
        return scrapy.Request(
            url,
            callback=self.parse_list,
            errback=self.feed_failed,
            headers=headers,
            cb_kwargs={"day": day, "page": page, "feed": True},
        )

    def feed_failed(self, failure: Any) -> Iterator[Any]:
        """The feed's first address failed: the legacy list for that day; later blocks: an error."""
        kwargs = failure.request.cb_kwargs
        if kwargs["page"] > 1:
            self.errback(failure)
            return
        url = failure.request.meta.get("replay_original", failure.request.url)
        self.count("naver_section/legacy_fallback")
        self.logger.warning(
            "naver section: %s failed (%s); reading the legacy list instead",
            url,
            failure.getErrorMessage() or failure.type.__name__,
        )
        yield self.list_request(kwargs["day"], 1)

    # -- the legacy lists --------------------------------------------------------------------
    def list_request(self, day: date | None, page: int) -> scrapy.Request:
        """The request for page `page` of a day's legacy list (None: today's)."""
        return scrapy.Request(
            list_url(self.sid1, day, page, self.sid2),
            callback=self.parse_list,
            errback=self.errback,
            cb_kwargs={"day": day, "page": page},
        )

    # -- both --------------------------------------------------------------------------------
    def parse_list(
        self, response: Response, day: date | None, page: int, feed: bool = False
    ) -> Iterator[Any]:
        """A page or block's new links, then the next one: the feed's cursor, or page + 1."""
        parsed = self.list_page(response)
        if parsed is None:
            return
        result, new = parsed
        for url in new:
            yield self.article_request(url, [url])
        if not new or page >= MAX_PAGES or self.at_limit(page):
            return
        if not feed:
            yield self.list_request(day, page + 1)
        elif result.next_url:
            yield self.feed_request(result.next_url, day, page + 1)

    def at_limit(self, page: int) -> bool:
        """True once `page` reached `pages` (0: no limit)."""
        return bool(self.max_pages and page >= self.max_pages)
