"""Storing articles: one item or a batch in one transaction, the database deciding duplicates.

`store_article`: everything about one item happens in ONE statement (`STORE_ARTICLE`, see
db.statements), inside a transaction that first takes the writers' lock:

1. `known`/`existing`: which of the item's URLs (`item.all_urls()`: canonical, portal copy,
   publisher original) are already in `article_urls`; the canonical URL's article wins.
2. No known URL: `INSERT … ON CONFLICT DO NOTHING` into `articles`. The unique constraints
   decide: a row comes back (inserted) or nothing does, and then the duplicate rule names the
   article whose canonical URL, content hash or (publisher, headline key, KST day) it met.
   A new article joins the cluster of the nearest recent article within `cluster_distance`
   bits of SimHash (found through four 16-bit band indexes), else starts its own.
3. A known URL: the text is compared with the hash last fetched at that URL
   (`article_urls.content_hash`). Changed there and not already the article's text: an
   update (old text into `article_versions`, `version + 1`, NOTIFY by trigger), unless the
   new text is much shorter (`suspect`: held in `article_suspects`, not made current). Same:
   unchanged. Never fetched at that URL before (we knew it only as an alias): `dropped_url`,
   the text is not taken, so a Naver copy and a Daum copy of one story do not overwrite each
   other as "versions" on every crawl.
4. Whatever the outcome, every URL of the item is recorded for the article it resolved to,
   and unlinked search hits pointing at any of them are linked.

`store_articles` (a batch, one transaction) gives the same outcomes as storing the items one
after the other, faster: binary COPY of the batch into a temporary table, one statement that
inserts the items sharing nothing with an earlier one (`INSERT_NEW_ARTICLES`), one that
resolves those of them that met a known URL or a duplicate (`RESOLVE_SEEN`), then
`STORE_ARTICLE` pipelined for the rest.

The identity keys (`headline_key`, `content_hash`, `simhash`) are the item's: the dedupe
pipeline computes them (pipelines.dedupe.with_keys); this module takes them as data and
refuses an item without them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
from psycopg.rows import class_row

from crawler.domain.items import ArticleItem
from db.locks import take_writer_lock
from db.rows import StoreResult
from db.statements import (
    ARTICLE_COLUMNS,
    BANDED_MAX_DISTANCE,
    BATCH_COPY_COLUMNS,
    COPY_BATCH,
    DRAW_IDS,
    ENSURE_BATCH_TABLE,
    GENERIC_PLANS,
    QUERIES,
    RESOLVE_SEEN,
)

logger = logging.getLogger(__name__)

KST = timezone(timedelta(hours=9))  # the headline window is a calendar day in Korea
_MASK64 = (1 << 64) - 1
DEFAULT_SUSPECT_RATIO = 0.5

__all__ = ["MissingKeys", "first_comers", "store_article", "store_articles"]


class MissingKeys(ValueError):
    """An item reached the store without its identity keys (run with_keys first)."""


def store_article(
    conn: psycopg.Connection[Any],
    item: ArticleItem,
    *,
    crawl_run_id: int | None = None,
    cluster_distance: int = 3,
    cluster_window_days: float = 3,
    suspect_ratio: float = DEFAULT_SUSPECT_RATIO,
) -> StoreResult:
    """Store one article in its own transaction; see the module docstring for the outcomes."""
    return store_articles(
        conn,
        [item],
        crawl_run_id=crawl_run_id,
        cluster_distance=cluster_distance,
        cluster_window_days=cluster_window_days,
        suspect_ratio=suspect_ratio,
    )[0]


def store_articles(
    conn: psycopg.Connection[Any],
    items: Sequence[ArticleItem],
    *,
    crawl_run_id: int | None = None,
    cluster_distance: int = 3,
    cluster_window_days: float = 3,
    suspect_ratio: float = DEFAULT_SUSPECT_RATIO,
) -> list[StoreResult]:
    """Store a batch in ONE transaction; one StoreResult per item, in the items' order.

    The outcome of every item is the one `store_article` would give storing the items one
    after the other, in order. For speed, the items that share nothing with an earlier item of
    the batch (`first_comers`) go first, through two set-based statements (insert the new
    ones; resolve those that met a known URL or a duplicate, unless their text changed); the
    others, and a first comer that may be an update, then go through the one-item statement,
    pipelined, in the batch's order. Storing first comers early cannot change any outcome
    except when an update comes before one of them (it changes an article's text, hash,
    headline or SimHash): then the savepoint is rolled back and the batch is stored one by one.
    Any database error rolls the whole batch back and is raised (pipelines.writing finds the
    item at fault and stores the others).
    """
    if not items:
        return []
    window = timedelta(days=cluster_window_days)
    params = [
        article_params(it, crawl_run_id, cluster_distance, window, suspect_ratio) for it in items
    ]
    near = {"distance": cluster_distance, "window": window}
    one, many = QUERIES[cluster_distance <= BANDED_MAX_DISTANCE]
    results: list[StoreResult | None] = [None] * len(items)
    with conn.transaction():
        take_writer_lock(conn, then=GENERIC_PLANS)
        fast = first_comers(params, cluster_distance) if len(items) > 1 else []
        if not fast:
            _one_by_one(conn, one, items, params, range(len(items)), results)
        else:
            try:
                with conn.transaction():  # a savepoint, for the rare redo below
                    _insert_new(conn, many, params, fast, results, crawl_run_id, **near)
                    solved = [i for i, r in enumerate(results) if r is not None]
                    rest = [i for i, r in enumerate(results) if r is None]
                    _one_by_one(conn, one, items, params, rest, results)
                    updated = [i for i in rest if results[i].outcome == "updated"]  # type: ignore[union-attr]
                    if updated and solved and solved[-1] > updated[0]:
                        raise _OrderMatters
            except _OrderMatters:
                # An update changed an article's text before a later item that was resolved
                # against the old one: store the batch again strictly in order.
                results = [None] * len(items)
                _one_by_one(conn, one, items, params, range(len(items)), results)
    return [r for r in results if r is not None]


class _OrderMatters(Exception):
    """Raised inside the batch's savepoint to roll the fast path back."""


def _one_by_one(
    conn: psycopg.Connection[Any],
    query: str,
    items: Sequence[ArticleItem],
    params: Sequence[dict[str, Any]],
    which: Sequence[int],
    results: list[StoreResult | None],
) -> None:
    """STORE_ARTICLE for the items `which`, in order, pipelined; fills `results`."""
    with conn.cursor(row_factory=class_row(StoreResult)) as cur:
        if len(which) == 1:
            results[which[0]] = _one(
                cur.execute(query, params[which[0]]).fetchone(), items[which[0]]
            )
        elif which:
            cur.executemany(query, [params[i] for i in which], returning=True)
            for i in which:
                results[i] = _one(cur.fetchone(), items[i])
                cur.nextset()


def _insert_new(
    conn: psycopg.Connection[Any],
    query: str,
    params: Sequence[dict[str, Any]],
    fast: Sequence[int],
    results: list[StoreResult | None],
    crawl_run_id: int | None,
    distance: int,
    window: timedelta,
) -> None:
    """The fast path of store_articles: fills `results` for the items it could resolve."""
    conn.execute(ENSURE_BATCH_TABLE)
    with conn.cursor() as cur:
        ids = [r[0] for r in cur.execute(DRAW_IDS, {"n": len(fast)})]
        with cur.copy(COPY_BATCH) as copy:
            copy.set_types([t for _, t in BATCH_COPY_COLUMNS])
            for article_id, i in zip(ids, fast, strict=True):
                p = params[i]
                copy.write_row([article_id, i, *(p[c] for c, _ in BATCH_COPY_COLUMNS[2:])])
        # Not prepared: planned once per batch with the table's current size (a plan cached
        # while the table was small would look for near-duplicates with a scan).
        args = {"crawl_run_id": crawl_run_id, "window": window, "distance": distance}
        for idx, article_id, cluster_id, urls_added, hits_linked in cur.execute(
            query, args, prepare=False
        ):
            results[idx] = StoreResult(article_id, "inserted", urls_added, cluster_id, hits_linked)
        left = [i for i in fast if results[i] is None]
        if left:
            for idx, article_id, outcome, urls_added, cluster_id, hits_linked in cur.execute(
                RESOLVE_SEEN, {"idxs": left}, prepare=False
            ):
                results[idx] = StoreResult(article_id, outcome, urls_added, cluster_id, hits_linked)


def duplicate_keys(p: dict[str, Any]) -> list[tuple[Any, ...]]:
    """An item's keys under the duplicate rule (db.statements.duplicate_of), in Python: its
    URLs, its text, and its publisher's headline on its KST day."""
    keys: list[tuple[Any, ...]] = [("url", u) for u in p["urls"]]
    keys.append(("hash", p["content_hash"]))
    if p["publisher"] and p["headline_key"] and p["published_at"]:
        day = p["published_at"].astimezone(KST).date()
        keys.append(("headline", p["publisher"], p["headline_key"], day))
    return keys


def first_comers(params: Sequence[dict[str, Any]], cluster_distance: int) -> list[int]:
    """Indexes of the items that share no URL, text, headline or near-duplicate with an
    EARLIER item of the batch.

    Stored first, together, they resolve as they would in order: nothing before them in the
    batch concerns them. The later items that share something with an earlier one are stored
    after them, one by one. Near-duplicates are found through the same 16-bit bands as in the
    database; for distances beyond what bands find exactly, every item goes one by one.
    """
    if cluster_distance > BANDED_MAX_DISTANCE:
        return []
    seen: set[tuple[Any, ...]] = set()
    bands: dict[tuple[int, int], list[int]] = defaultdict(list)
    first: list[int] = []
    for i, p in enumerate(params):
        keys = duplicate_keys(p)
        clash = any(k in seen for k in keys)
        seen.update(keys)
        h = p["simhash"]
        if h is not None:
            mine = [(b, (h >> (16 * b)) & 0xFFFF) for b in range(4)]
            clash = clash or any(
                ((h ^ params[j]["simhash"]) & _MASK64).bit_count() <= cluster_distance
                for band in mine
                for j in bands.get(band, ())
            )
            for band in mine:
                bands[band].append(i)
        if not clash:
            first.append(i)
    return first


def _one(row: StoreResult | None, item: ArticleItem) -> StoreResult:
    if row is None:
        # Every branch of STORE_ARTICLE yields a target while the writers' lock is held; no
        # row means someone wrote articles without it.
        raise RuntimeError(
            f"storing {item.url} resolved to no article (a writer without the lock?)"
        )
    return row


def article_params(
    item: ArticleItem,
    crawl_run_id: int | None,
    distance: int,
    window: timedelta,
    suspect_ratio: float = DEFAULT_SUSPECT_RATIO,
) -> dict[str, Any]:
    """The statement parameters of one item: one per ARTICLE_COLUMNS parameter, and the rest."""
    if item.content_hash is None or item.simhash is None:
        raise MissingKeys(f"{item.url}: no identity keys; pipelines.dedupe.with_keys computes them")
    values = {
        "url": item.url,
        "portal": item.portal,
        "publisher": item.publisher,
        "title": item.title,
        "subtitle": item.subtitle,
        "body": item.body,
        "authors": list(item.authors),
        "section": item.section,
        "published_at": aware(item.published_at),
        "updated_at": aware(item.updated_at),
        "headline_key": item.headline_key,
        "content_hash": item.content_hash,
        "simhash": item.simhash,
        "parser": item.parser,
    }
    assert values.keys() == {c.param for c in ARTICLE_COLUMNS}
    return {
        **values,
        "urls": item.all_urls(),
        "crawl_run_id": crawl_run_id,
        "distance": distance,
        "window": window,
        "suspect_ratio": suspect_ratio,
    }


def aware(moment: datetime | None) -> datetime | None:
    """A time without an offset is Korean time: that is what Korean news pages print."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=KST)
    return moment
