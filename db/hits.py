"""Search hits: one row per (portal, query, URL), upserted, linked to the article they lead to."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.rows import class_row

from crawler.domain.items import SearchHit
from db.batch import aware
from db.locks import take_writer_lock
from db.rows import SearchHitRow

__all__ = ["known_hit_urls", "search_hits", "store_search_hits"]

UPSERT_SEARCH_HIT = """
INSERT INTO search_hits (
    crawl_run_id, query, portal, page, rank, title, snippet, url, portal_url, publisher,
    published_text, published_at, article_id)
VALUES (
    %(crawl_run_id)s::bigint, %(query)s, %(portal)s, %(page)s::int, %(rank)s::int, %(title)s,
    %(snippet)s, %(url)s, %(portal_url)s, %(publisher)s, %(published_text)s,
    %(published_at)s::timestamptz,
    (SELECT u.article_id FROM article_urls u
     WHERE u.url = %(url)s OR u.url = %(portal_url)s
     ORDER BY u.url = %(url)s DESC
     LIMIT 1))
ON CONFLICT (portal, query, url) DO UPDATE SET
    crawl_run_id = EXCLUDED.crawl_run_id,
    page = EXCLUDED.page,
    rank = EXCLUDED.rank,
    title = EXCLUDED.title,
    snippet = coalesce(EXCLUDED.snippet, search_hits.snippet),
    portal_url = coalesce(EXCLUDED.portal_url, search_hits.portal_url),
    publisher = coalesce(EXCLUDED.publisher, search_hits.publisher),
    published_text = coalesce(EXCLUDED.published_text, search_hits.published_text),
    published_at = coalesce(EXCLUDED.published_at, search_hits.published_at),
    article_id = coalesce(search_hits.article_id, EXCLUDED.article_id),
    seen_at = now()
RETURNING id
"""

SELECT_SEARCH_HITS = """
SELECT * FROM search_hits
WHERE (%(run)s::bigint IS NULL OR crawl_run_id = %(run)s::bigint)
ORDER BY portal, query, page, rank, id
"""


def store_search_hits(
    conn: psycopg.Connection[Any], hits: Iterable[SearchHit], crawl_run_id: int | None
) -> list[int]:
    """Upsert hits by (portal, query, url) in one transaction; their ids, in order.

    A hit seen again moves (rank, page, seen_at, crawl_run_id) and adds no row. A hit whose
    URL (or portal URL) is an article we hold is linked to it at once; the others are linked
    when the article is stored.
    """
    params = [_hit_params(h, crawl_run_id) for h in hits]
    if not params:
        return []
    ids: list[int] = []
    with conn.transaction():
        take_writer_lock(conn)
        with conn.cursor() as cur:
            cur.executemany(UPSERT_SEARCH_HIT, params, returning=True)
            for _ in params:
                ids.append(cur.fetchone()[0])
                cur.nextset()
    return ids


def search_hits(
    conn: psycopg.Connection[Any], crawl_run_id: int | None = None
) -> list[SearchHitRow]:
    """Stored search hits (of one run, or all), by portal, query, page and rank."""
    with conn.cursor(row_factory=class_row(SearchHitRow)) as cur:
        return cur.execute(SELECT_SEARCH_HITS, {"run": crawl_run_id}).fetchall()


def _hit_params(hit: SearchHit, crawl_run_id: int | None) -> dict[str, Any]:
    return {
        "crawl_run_id": crawl_run_id,
        "query": hit.query,
        "portal": hit.portal,
        "page": hit.page,
        "rank": hit.rank,
        "title": hit.title,
        "snippet": hit.snippet,
        "url": hit.url,
        "portal_url": hit.portal_url,
        "publisher": hit.publisher,
        "published_text": hit.published,
        "published_at": aware(hit.published_at),
    }


KNOWN_HIT_URLS = """
SELECT h.url FROM search_hits h
WHERE h.portal = %(portal)s AND h.query = %(query)s
  AND h.seen_at >= now() - %(days)s * interval '1 day'
UNION
SELECT h.portal_url FROM search_hits h
WHERE h.portal = %(portal)s AND h.query = %(query)s AND h.portal_url IS NOT NULL
  AND h.seen_at >= now() - %(days)s * interval '1 day'
"""


def known_hit_urls(
    conn: psycopg.Connection[Any], portal: str, query: str, days: int = 30
) -> list[str]:
    """URLs (and portal copies) of this search's hits seen in the last `days` days: what an
    incremental crawl of it has met before."""
    rows = conn.execute(KNOWN_HIT_URLS, {"portal": portal, "query": query, "days": days})
    return [r[0] for r in rows]
