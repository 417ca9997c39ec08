"""Page in, final item out: the site parser, then the cleaning the pipeline applies.

`sosik extract`, the corpus tests and the accuracy benchmark all go through here, so what they
show is what the crawl stores.
"""

from __future__ import annotations

from crawler.domain.items import ArticleItem
from crawler.parsers import Page, parse_article
from pipelines.clean import clean_article


def extract_article(page: Page) -> ArticleItem:
    return clean_article(parse_article(page))
