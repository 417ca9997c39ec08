"""The demo site's hand-written pages (crawler/demo/site) read as `sosik demo` needs them to.

A parser change that stops reading one of them fails here, naming the page, before the demo
ends `degraded` or `errors` for a newcomer: every article carries the core fields (title, body,
published_at, publisher) and its reporter, every link of the search and section pages leads to
a page of the site, and the wire story's copies are what the demo says they are.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import lxml.html
import pytest

from crawler.commands.demo import SITE
from crawler.domain.keys import with_keys
from crawler.domain.urls import canonical_url, page_kind
from crawler.parsers import Page, parse_article, parse_list, parse_search
from pipelines.prepare import clean_article


def site() -> dict[str, str]:
    """url -> file name, from the site's urls.tsv."""
    out = {}
    for line in (SITE / "urls.tsv").read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            url, _, name = line.partition("\t")
            out[url.strip()] = name.strip()
    return out


def page(url: str) -> Page:
    return Page(url=url, body=(SITE / site()[url]).read_bytes())


def keys_of(url: str):
    """The article as the store sees it: cleaned, with its duplicate keys."""
    return with_keys(clean_article(parse_article(page(url))))


ARTICLES = [u for u in site() if page_kind(u) == "article"]
WIRE = "https://n.news.naver.com/mnews/article/970/0000000101"
WIRE_COPY = "https://n.news.naver.com/mnews/article/971/0000000201"
WIRE_EDIT = "https://n.news.naver.com/mnews/article/972/0000000301"


def test_the_site_has_a_search_page_a_section_list_and_seven_articles():
    kinds = sorted(page_kind(u) for u in site())
    assert kinds == ["article"] * 7 + ["list", "search"]
    assert all((SITE / name).is_file() for name in site().values())


@pytest.mark.parametrize("url", ARTICLES)
def test_every_article_carries_the_core_fields(url):
    item = parse_article(page(url))
    assert item.parser == "naver.mnews/2"
    assert item.url == url
    assert item.title and item.publisher and item.authors and item.section
    assert item.published_at is not None and item.published_at.utcoffset() is not None
    assert len(item.body.split("\n\n")) >= 3
    assert item.original_url and item.original_url.endswith(f"/news/{int(url[-10:])}")


def test_every_search_result_and_list_link_leads_to_a_page_of_the_site():
    search = parse_search(page(next(u for u in site() if page_kind(u) == "search")))
    assert search.query == "전기버스" and len(search.hits) == 4
    assert search.has_next is None and search.next_url is None  # one page: the crawl stops
    for hit in search.hits:
        assert hit.publisher and hit.published_at is not None and hit.snippet
        assert canonical_url(hit.portal_url) in ARTICLES
    listed = parse_list(page("https://news.naver.com/section/101"))
    assert listed.next_url is None
    assert [canonical_url(u) for u in listed.links] == [
        "https://n.news.naver.com/mnews/article/973/0000000402",
        "https://n.news.naver.com/mnews/article/970/0000000102",
        WIRE_COPY,
        "https://n.news.naver.com/mnews/article/973/0000000401",  # found by the search too
    ]
    found = {canonical_url(h.portal_url) for h in search.hits} | {
        canonical_url(u) for u in listed.links
    }
    assert found == set(ARTICLES)


def test_the_wire_story_is_copied_once_word_for_word_and_once_with_a_new_lead():
    wire, copy, edit = (keys_of(u) for u in (WIRE, WIRE_COPY, WIRE_EDIT))
    assert copy.content_hash == wire.content_hash  # the database keeps one article
    assert copy.headline_key != wire.headline_key and copy.publisher != wire.publisher
    assert edit.content_hash != wire.content_hash  # its own article ...
    assert edit.simhash == wire.simhash  # ... in the wire story's cluster
    others = [keys_of(u) for u in ARTICLES if u not in (WIRE, WIRE_COPY)]
    assert len({o.content_hash for o in others} | {wire.content_hash}) == 6


def test_no_address_outside_naver_and_the_reserved_example_domain():
    for url, name in site().items():
        tree = lxml.html.fromstring((SITE / name).read_bytes())
        for href in tree.xpath("//a/@href") + [url]:
            host = urlsplit(href).hostname or ""
            if host:
                assert host.endswith((".naver.com", ".example")), (name, href)
