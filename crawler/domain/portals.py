"""The portals table: every site sosik reads, what reads it and what crawls it.

One row per site. `key` is the parser module (crawler.parsers.<key>), item.portal and, for a
portal with a keyword search, the search spider's name; `hosts` are the host suffixes the
registry picks the parser by; `search` says the key is also a search spider (`sosik crawl all`
and the scheduler's `portal = "all"` run these); `section` names its section-list spider.
Each spider declares its own command-line arguments (`cli_arguments` on its class). Adding a
portal is a parser module, a spider, and one row here (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.domain.urls import host_of


@dataclass(frozen=True, slots=True)
class Portal:
    """One site: its parser key, its hosts, and the spiders that crawl it."""

    key: str
    hosts: tuple[str, ...]
    search: bool = False  # `key` is a keyword-search spider too
    section: str | None = None  # the section-list spider's name, if it has one

    @property
    def parser(self) -> str:
        """The module that reads its pages."""
        return f"crawler.parsers.{self.key}"


PORTALS: tuple[Portal, ...] = (
    Portal("naver", ("naver.com",), search=True, section="naver_section"),
    Portal("daum", ("daum.net",), search=True, section="daum_section"),
    Portal("seoul", ("seoul.co.kr",), search=True),
    Portal("hankookilbo", ("hankookilbo.com",)),
    Portal("mk", ("mk.co.kr",)),
    Portal("chosun", ("chosun.com",)),
    Portal("daejonilbo", ("daejonilbo.com",)),
    Portal("yna", ("yna.co.kr",)),
)
BY_KEY: dict[str, Portal] = {p.key: p for p in PORTALS}
GENERIC = "generic"  # the parser of every host without a row
LIST_SPIDER = "list"  # section lists of any site, read by each site's list parser
SEARCH_SPIDERS: tuple[str, ...] = tuple(p.key for p in PORTALS if p.search)
SECTION_SPIDERS: tuple[str, ...] = tuple(p.section for p in PORTALS if p.section)
SPIDERS: tuple[str, ...] = (*SEARCH_SPIDERS, *SECTION_SPIDERS, LIST_SPIDER)


def site_key(url: str) -> str | None:
    """The portal key of a URL's site, or None for a host without a site parser."""
    host = host_of(url)
    for p in PORTALS:
        if any(host == s or host.endswith("." + s) for s in p.hosts):
            return p.key
    return None
