"""Articles and search hits, the public face of the write path (split by job):

- db.statements: the SQL, each rule once (column list, duplicate rule, near-duplicates, the
  suspect rule, the writers' lock), every statement built from those fragments;
- db.batch: storing articles, one or a batch per transaction (`store_article(s)`);
- db.hits: search hits (`store_search_hits`, `search_hits`);
- db.reads: reading articles back (`get_article`, `article_urls`, `article_versions`).

Import from here or from the module that does the job; both are the same functions.
"""

from __future__ import annotations

from db.batch import MissingKeys, store_article, store_articles
from db.hits import search_hits, store_search_hits
from db.reads import article_urls, article_versions, get_article
from db.rows import StoreResult

__all__ = [
    "MissingKeys",
    "StoreResult",
    "article_urls",
    "article_versions",
    "get_article",
    "search_hits",
    "store_article",
    "store_articles",
    "store_search_hits",
]
