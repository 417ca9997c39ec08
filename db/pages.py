"""The raw-page archive: fetched bytes kept so that pages can be parsed again later.

Bodies are zlib-compressed here, in Python (HTML shrinks 5-10x), and stored in a `bytea`
column marked STORAGE EXTERNAL so that PostgreSQL does not spend time trying to compress them
again (pgserver's build offers only pglz, which is slower and weaker than zlib).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from db.rows import PageRow

__all__ = ["PageRow", "archive_page", "archive_pages", "iter_pages"]

ZLIB_LEVEL = 6

INSERT_PAGE = """
INSERT INTO pages (url, fetched_at, status, encoding, body, size, portal, crawl_run_id)
VALUES (%(url)s, coalesce(%(fetched_at)s::timestamptz, now()), %(status)s, %(encoding)s,
        %(body)s, %(size)s, %(portal)s, %(crawl_run_id)s)
RETURNING id
"""
SELECT_PAGES = """
SELECT id, url, fetched_at, status, encoding, body, portal, crawl_run_id
FROM pages p
WHERE id > %(after)s
  AND (%(portal)s::text IS NULL OR portal = %(portal)s::text)
  AND (%(since)s::timestamptz IS NULL OR fetched_at >= %(since)s::timestamptz)
  AND (NOT %(latest)s OR NOT EXISTS (
        SELECT 1 FROM pages newer WHERE newer.url = p.url AND newer.id > p.id))
ORDER BY id
LIMIT %(limit)s
"""


def archive_page(
    conn: psycopg.Connection[Any],
    url: str,
    status: int,
    encoding: str | None,
    body: bytes,
    portal: str,
    crawl_run_id: int | None = None,
    fetched_at: datetime | None = None,
) -> int:
    """Keep one fetched page (compressed); its id."""
    params = {
        "url": url,
        "fetched_at": fetched_at,
        "status": status,
        "encoding": encoding,
        "body": zlib.compress(body, ZLIB_LEVEL),
        "size": len(body),
        "portal": portal,
        "crawl_run_id": crawl_run_id,
    }
    row = conn.execute(INSERT_PAGE, params).fetchone()
    assert row is not None
    return int(row[0])


def archive_pages(conn: psycopg.Connection[Any], pages: list[dict[str, Any]]) -> int:
    """Keep fetched pages (each a dict of archive_page's arguments, `body` raw) in one
    transaction, compressing them here (on the caller's thread, not the crawl's reactor)."""
    params = [
        {
            "url": p["url"],
            "fetched_at": p.get("fetched_at"),
            "status": p["status"],
            "encoding": p.get("encoding"),
            "body": zlib.compress(p["body"], ZLIB_LEVEL),
            "size": len(p["body"]),
            "portal": p["portal"],
            "crawl_run_id": p.get("crawl_run_id"),
        }
        for p in pages
    ]
    if not params:
        return 0
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(INSERT_PAGE, params)
    return len(params)


def iter_pages(
    conn: psycopg.Connection[Any],
    portal: str | None = None,
    since: datetime | None = None,
    *,
    latest: bool = False,
    batch: int = 200,
) -> Iterator[PageRow]:
    """Archived pages in the order they were stored, bodies decompressed; `batch` at a time.

    `latest`: only the newest fetch of each URL (what a re-parse wants: an older fetch would
    otherwise turn the stored article back into its old text as a "new version").
    """
    after = 0
    while True:
        params = {
            "after": after,
            "portal": portal,
            "since": since,
            "latest": latest,
            "limit": batch,
        }
        with conn.cursor(row_factory=class_row(PageRow)) as cur:
            rows = cur.execute(SELECT_PAGES, params).fetchall()
        for row in rows:
            yield replace(row, body=zlib.decompress(row.body))
        if len(rows) < batch:
            return
        after = rows[-1].id
