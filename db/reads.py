"""Reading stored articles back: one article, its addresses, its superseded versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from db.rows import ArticleRow, ArticleUrlRow, ArticleVersionRow

__all__ = ["article_urls", "article_versions", "get_article", "urls_seen_since"]

SELECT_ARTICLE = "SELECT * FROM articles WHERE id = %(id)s"
SELECT_ARTICLE_URLS = (
    "SELECT * FROM article_urls WHERE article_id = %(id)s ORDER BY first_seen_at, url"
)
SELECT_ARTICLE_VERSIONS = (
    "SELECT * FROM article_versions WHERE article_id = %(id)s ORDER BY version"
)


def get_article(conn: psycopg.Connection[Any], article_id: int) -> ArticleRow | None:
    """One stored article with its current text; None when the id is unknown."""
    with conn.cursor(row_factory=class_row(ArticleRow)) as cur:
        return cur.execute(SELECT_ARTICLE, {"id": article_id}).fetchone()


def article_urls(conn: psycopg.Connection[Any], article_id: int) -> list[ArticleUrlRow]:
    """Every URL recorded for the article (its canonical one, portal copies, redirects), with
    first-seen times.
    """
    with conn.cursor(row_factory=class_row(ArticleUrlRow)) as cur:
        return cur.execute(SELECT_ARTICLE_URLS, {"id": article_id}).fetchall()


def article_versions(conn: psycopg.Connection[Any], article_id: int) -> list[ArticleVersionRow]:
    """The superseded versions of an article, oldest first (the current text is in articles)."""
    with conn.cursor(row_factory=class_row(ArticleVersionRow)) as cur:
        return cur.execute(SELECT_ARTICLE_VERSIONS, {"id": article_id}).fetchall()


# Every address of the articles stored or met since a moment: what a crawl that started then
# (and a chain of runs resuming it) has done. A sequential scan of articles: once per resume.
URLS_SEEN_SINCE = """
SELECT u.url FROM article_urls u JOIN articles a ON a.id = u.article_id
WHERE a.last_seen_at >= %(since)s
"""


def urls_seen_since(conn: psycopg.Connection[Any], since: datetime) -> list[str]:
    """URLs of every article stored, updated or met again since `since`."""
    return [r[0] for r in conn.execute(URLS_SEEN_SINCE, {"since": since})]
