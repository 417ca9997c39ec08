"""Page in, final item out: the site parser, then the cleaning rules the pipeline applies.

`sosik extract`, the corpus tests and the accuracy benchmark all go through here, so what they
show is what the crawl stores.
"""

from __future__ import annotations

from dataclasses import replace

from crawler.items import ArticleItem
from crawler.parsers import Page, parse_article
from pipelines.text import clean_authors, clean_body, clean_title, norm


def clean_article(item: ArticleItem) -> ArticleItem:
    """The clean step of the pipeline, as a pure function over an item."""
    subtitle = "\n".join(norm(x) for x in (item.subtitle or "").split("\n") if norm(x)) or None
    return replace(
        item,
        title=clean_title(item.title),
        body=clean_body(item.body),
        subtitle=subtitle,
        authors=clean_authors(item.authors),
        publisher=norm(item.publisher) or None,
        section=norm(item.section) or None,
    )


def extract_article(page: Page) -> ArticleItem:
    return clean_article(parse_article(page))
