"""Which parser reads which page: one module per site, picked by host from the portals table
(crawler.domain.portals); the generic one otherwise.

A site module exposes any of `parse_article(page)`, `parse_search(page)`, `parse_list(page)`.
When a site parser raises ParseError on an article (its layout changed under it), the generic
parser reads the page instead and the item's `parser` says so ("generic<hankookilbo"), so a
layout change costs precision, not the article; the drift alarm sees the parser name.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from crawler.domain.items import ArticleItem, ListPage, SearchPage
from crawler.domain.portals import BY_KEY, GENERIC, site_key
from crawler.parsers.page import NotAnArticle, Page, ParseError

_modules: dict[str, ModuleType] = {}


def _module(key: str) -> ModuleType:
    if key not in _modules:
        portal = BY_KEY.get(key)
        _modules[key] = importlib.import_module(
            portal.parser if portal else f"crawler.parsers.{key}"
        )
    return _modules[key]


def parser_for(url: str) -> ModuleType:
    """The module that reads this URL's pages: its site's, or the generic one."""
    return _module(site_key(url) or GENERIC)


def parse_article(page: Page) -> ArticleItem:
    """Parse an article page with its site's parser, falling back to the generic one."""
    mod = parser_for(page.url)
    generic = _module(GENERIC)
    if mod is generic or not hasattr(mod, "parse_article"):
        return generic.parse_article(page)
    try:
        return mod.parse_article(page)
    except NotAnArticle:
        raise
    except ParseError as site_error:
        try:
            item = generic.parse_article(page, portal=mod.__name__.rsplit(".", 1)[1])
        except NotAnArticle:
            raise  # the generic reading says what the page is: a list, not a broken article
        except ParseError:
            raise site_error from None
        item.parser = f"generic<{item.portal}"
        return item


def parse_search(page: Page) -> SearchPage:
    """The host's search results page parsed; ParseError when the host's parser reads no search
    pages.
    """
    mod = parser_for(page.url)
    if not hasattr(mod, "parse_search"):
        raise ParseError(page.url, "no search parser for this host")
    return mod.parse_search(page)


def parse_list(page: Page) -> ListPage:
    """The host's section list page parsed; ParseError when the host's parser reads no list pages."""
    mod = parser_for(page.url)
    if not hasattr(mod, "parse_list"):
        raise ParseError(page.url, "no list parser for this host")
    return mod.parse_list(page)
