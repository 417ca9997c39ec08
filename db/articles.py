"""Storing articles and search hits: the database decides what is a duplicate.

`store_article`: everything about one item happens in ONE statement (`STORE_ARTICLE`), inside
a transaction that first takes the writers' lock (`db.locks.take_writer_lock`):

1. `known`/`existing`: which of the item's URLs (`item.all_urls()`: canonical, portal copy,
   publisher original) are already in `article_urls`; the canonical URL's article wins.
2. No known URL: `INSERT … ON CONFLICT DO NOTHING` into `articles`. The unique constraints
   decide: a row comes back (inserted) or nothing does, and then `dup` names the article whose
   canonical URL, content hash or (publisher, headline key, KST day) it collided with.
   A new article joins the cluster of the nearest recent article within `cluster_distance`
   bits of SimHash (found through four 16-bit band indexes), else starts its own.
3. A known URL: `decision` compares the text with the hash last fetched at that URL
   (`article_urls.content_hash`). Changed there and not already the article's text: an
   update (old text into `article_versions`, `version + 1`, NOTIFY by trigger). Same:
   unchanged. Never fetched at that URL before (we knew it only as an alias): `dropped_url`,
   the text is not taken, so a Naver copy and a Daum copy of one story do not overwrite each
   other as "versions" on every crawl.
4. Whatever the outcome, every URL of the item is recorded for the article it resolved to,
   and unlinked search hits pointing at any of them are linked.

`store_articles` (a batch, one transaction) gives the same outcomes as storing the items one
after the other, faster: binary COPY of the batch into a temporary table, one statement that
inserts the items sharing nothing with an earlier one (`INSERT_NEW_ARTICLES`), one that
resolves those of them that met a known URL or a constraint (`RESOLVE_SEEN`), then
`STORE_ARTICLE` pipelined for the rest (see `store_articles`).

The writers' lock (db.locks: a row lock no reader can take) is held by every transaction that
adds articles or search hits. It makes article ids commit in id order (what `db.feed.iter_new`
relies on) and makes the URL lookup and the insert one atomic step across concurrent crawls
(two spiders meeting the same story at once end with one article, not two).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
from psycopg.rows import class_row

from crawler.items import ArticleItem, SearchHit
from db.locks import take_writer_lock
from db.rows import (
    ArticleRow,
    ArticleUrlRow,
    ArticleVersionRow,
    SearchHitRow,
    StoreResult,
)
from pipelines.hashing import content_hash, hamming, headline_key, story_simhash

logger = logging.getLogger(__name__)

KST = timezone(timedelta(hours=9))  # the headline window is a calendar day in Korea

__all__ = [
    "StoreResult",
    "get_article",
    "article_urls",
    "article_versions",
    "search_hits",
    "store_article",
    "store_articles",
    "store_search_hits",
]

# Store transactions run with generic plans, set in the writers' lock's round trip
# (STORE_ARTICLE takes ~10 ms to plan and well under 1 ms to run, and its plan does not depend
# on the values: the prepared statement's generic plan is always the right one).
GENERIC_PLANS = "SET LOCAL plan_cache_mode = force_generic_plan"

# Near-duplicate candidates: exact for distances up to 3 through four 16-bit band indexes (two
# hashes within 3 bits agree on at least one band); wider distances scan the whole window.
BANDED_MAX_DISTANCE = 3
NEAR_BANDS = """(   (a.simhash >> 48) = ({probe} >> 48)
           OR ((a.simhash >> 32) & 65535) = (({probe} >> 32) & 65535)
           OR ((a.simhash >> 16) & 65535) = (({probe} >> 16) & 65535)
           OR (a.simhash & 65535) = ({probe} & 65535))"""
NEAR_ANY = "true"
# The cluster of the nearest recent article: smallest distance, then the oldest.
NEAR_CLUSTER = """
    SELECT a.cluster_id
    FROM articles a
    WHERE {probe} IS NOT NULL
      AND a.simhash IS NOT NULL
      AND {bands}
      AND coalesce(a.published_at, a.first_seen_at)
          BETWEEN coalesce({published}, now()) - %(window)s::interval
              AND coalesce({published}, now()) + %(window)s::interval
      AND bit_count((a.simhash # {probe})::bit(64)) <= %(distance)s::int
    ORDER BY bit_count((a.simhash # {probe})::bit(64)), a.id
    LIMIT 1"""

STORE_ARTICLE = """
WITH
known AS (
    SELECT u.url, u.article_id, u.content_hash
    FROM article_urls u
    WHERE u.url = ANY(%(urls)s::text[])
),
existing AS (
    SELECT k.article_id FROM known k
    ORDER BY k.url = %(url)s DESC, k.article_id
    LIMIT 1
),
near AS ({near}
),
fresh AS MATERIALIZED (
    SELECT nextval('articles_id_seq'::regclass) AS id
    WHERE NOT EXISTS (SELECT FROM existing)
),
ins AS (
    INSERT INTO articles (
        id, canonical_url, portal, publisher, title, subtitle, body, authors, section,
        published_at, updated_at, headline_key, content_hash, simhash, cluster_id, parser,
        crawl_run_id)
    SELECT f.id, %(url)s, %(portal)s, %(publisher)s, %(title)s, %(subtitle)s, %(body)s,
           %(authors)s::text[], %(section)s, %(published_at)s::timestamptz,
           %(updated_at)s::timestamptz, %(headline_key)s, %(content_hash)s, %(simhash)s::bigint,
           coalesce((SELECT n.cluster_id FROM near n), f.id), %(parser)s,
           %(crawl_run_id)s::bigint
    FROM fresh f
    ON CONFLICT DO NOTHING
    RETURNING id, cluster_id
),
dup AS (
    SELECT d.id, d.outcome
    FROM (
        SELECT a.id, 'dropped_url' AS outcome, 1 AS pri
        FROM articles a WHERE a.canonical_url = %(url)s
        UNION ALL
        SELECT a.id, 'dropped_hash', 2
        FROM articles a WHERE a.content_hash = %(content_hash)s
        UNION ALL
        SELECT a.id, 'dropped_headline', 3
        FROM articles a
        WHERE a.publisher = %(publisher)s AND a.headline_key = %(headline_key)s
          AND (a.published_at AT TIME ZONE 'Asia/Seoul')::date
              = (%(published_at)s::timestamptz AT TIME ZONE 'Asia/Seoul')::date
    ) d
    WHERE NOT EXISTS (SELECT FROM existing) AND NOT EXISTS (SELECT FROM ins)
    ORDER BY d.pri
    LIMIT 1
),
cur AS (
    SELECT a.id, a.version, a.title, a.subtitle, a.body, a.content_hash, a.publisher,
           a.published_at, a.updated_at, a.captured_at,
           (SELECT k.content_hash FROM known k
            WHERE k.url = %(url)s AND k.article_id = a.id) AS seen_hash
    FROM articles a JOIN existing e ON a.id = e.article_id
),
decision AS (
    SELECT c.*,
        CASE
            WHEN c.seen_hash IS NULL THEN 'dropped_url'
            WHEN c.seen_hash = %(content_hash)s OR c.content_hash = %(content_hash)s
                THEN 'unchanged'
            WHEN EXISTS (SELECT FROM articles o WHERE o.content_hash = %(content_hash)s)
                THEN 'dropped_hash'
            WHEN EXISTS (
                SELECT FROM articles o
                WHERE o.publisher = c.publisher AND o.headline_key = %(headline_key)s
                  AND (o.published_at AT TIME ZONE 'Asia/Seoul')::date
                      = (coalesce(c.published_at, %(published_at)s::timestamptz)
                         AT TIME ZONE 'Asia/Seoul')::date
                  AND o.id <> c.id)
                THEN 'dropped_headline'
            ELSE 'updated'
        END AS outcome
    FROM cur c
),
upd AS (
    UPDATE articles a SET
        title = %(title)s, subtitle = %(subtitle)s, body = %(body)s,
        authors = %(authors)s::text[], section = coalesce(%(section)s, a.section),
        published_at = coalesce(a.published_at, %(published_at)s::timestamptz),
        updated_at = coalesce(%(updated_at)s::timestamptz, now()),
        headline_key = %(headline_key)s, content_hash = %(content_hash)s,
        simhash = %(simhash)s::bigint, parser = %(parser)s,
        version = a.version + 1, captured_at = now(), last_seen_at = now()
    FROM decision d
    WHERE a.id = d.id AND d.outcome = 'updated'
),
versions AS (
    INSERT INTO article_versions (
        article_id, version, title, subtitle, body, content_hash, published_at, updated_at,
        captured_at)
    SELECT d.id, d.version, d.title, d.subtitle, d.body, d.content_hash, d.published_at,
           d.updated_at, d.captured_at
    FROM decision d
    WHERE d.outcome = 'updated'
),
target AS (
    SELECT i.id, 'inserted' AS outcome FROM ins i
    UNION ALL SELECT d.id, d.outcome FROM decision d
    UNION ALL SELECT x.id, x.outcome FROM dup x
),
touch AS (
    UPDATE articles a SET last_seen_at = now()
    FROM target t
    WHERE a.id = t.id AND t.outcome NOT IN ('inserted', 'updated')
),
seen AS (
    UPDATE article_urls u SET content_hash = %(content_hash)s
    FROM target t
    WHERE u.url = %(url)s AND u.article_id = t.id
      AND u.content_hash IS DISTINCT FROM %(content_hash)s
),
added AS (
    INSERT INTO article_urls (url, article_id, is_canonical, content_hash)
    SELECT u.url, t.id, t.outcome = 'inserted' AND u.url = %(url)s,
           CASE WHEN u.url = %(url)s THEN %(content_hash)s END
    FROM target t CROSS JOIN unnest(%(urls)s::text[]) AS u(url)
    WHERE NOT EXISTS (SELECT FROM known k WHERE k.url = u.url)
    ON CONFLICT (url) DO NOTHING
    RETURNING url
),
linked AS (
    UPDATE search_hits h SET article_id = t.id
    FROM target t
    WHERE h.article_id IS NULL
      AND (h.url = ANY(%(urls)s::text[]) OR h.portal_url = ANY(%(urls)s::text[]))
    RETURNING h.id
)
SELECT t.id AS article_id,
       t.outcome,
       (SELECT count(*) FROM added)::int AS urls_added,
       coalesce((SELECT i.cluster_id FROM ins i),
                (SELECT a.cluster_id FROM articles a WHERE a.id = t.id)) AS cluster_id,
       (SELECT count(*) FROM linked)::int AS hits_linked
FROM target t
"""

# The batch fast path, for the items of a batch that share no URL, text, headline or
# near-duplicate with an earlier item of the batch: binary COPY into a temporary table, then one
# statement inserts the articles and their URLs, and links their search hits. Items that meet a known URL or a constraint are not returned and go
# through STORE_ARTICLE, which handles every case.
# Made once per session, emptied at every commit (and here, in case an outer transaction
# holds the last batch's rows). Bodies are toasted in it on their way to articles: uncompressed.
ENSURE_BATCH_TABLE = """
DO $$
BEGIN
    IF to_regclass('pg_temp.sosik_batch') IS NULL THEN
        CREATE TEMPORARY TABLE sosik_batch (
            id           bigint NOT NULL,
            idx          integer NOT NULL,
            url          text NOT NULL,
            urls         text[] NOT NULL,
            portal       text,
            publisher    text,
            title        text,
            subtitle     text,
            body         text,
            authors      text[],
            section      text,
            published_at timestamptz,
            updated_at   timestamptz,
            headline_key text,
            content_hash text,
            simhash      bigint,
            parser       text
        ) ON COMMIT DELETE ROWS;
        ALTER TABLE sosik_batch ALTER COLUMN body SET STORAGE EXTERNAL;
    END IF;
    DELETE FROM sosik_batch;
END
$$
"""
BATCH_COLUMNS = (
    ("id", "int8"), ("idx", "int4"), ("url", "text"), ("urls", "text[]"), ("portal", "text"),
    ("publisher", "text"), ("title", "text"), ("subtitle", "text"), ("body", "text"),
    ("authors", "text[]"), ("section", "text"), ("published_at", "timestamptz"),
    ("updated_at", "timestamptz"), ("headline_key", "text"), ("content_hash", "text"),
    ("simhash", "int8"), ("parser", "text"),
)  # fmt: skip
COPY_BATCH = (
    f"COPY sosik_batch ({', '.join(c for c, _ in BATCH_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
)

# Ids drawn ahead (the temporary table must not depend on the sequence: it would block dropping
# it), in order, under the writers' lock. An item that is not inserted leaves a hole.
DRAW_IDS = "SELECT nextval('articles_id_seq'::regclass) FROM generate_series(1, %(n)s)"

INSERT_NEW_ARTICLES = """
WITH
ins AS (
    INSERT INTO articles (
        id, canonical_url, portal, publisher, title, subtitle, body, authors, section,
        published_at, updated_at, headline_key, content_hash, simhash, cluster_id, parser,
        crawl_run_id)
    SELECT f.id, f.url, f.portal, f.publisher, f.title, f.subtitle, f.body,
           coalesce(f.authors, '{{}}'), f.section, f.published_at, f.updated_at, f.headline_key,
           f.content_hash, f.simhash, coalesce(n.cluster_id, f.id), coalesce(f.parser, ''),
           %(crawl_run_id)s::bigint
    FROM sosik_batch f
    LEFT JOIN LATERAL ({near}
    ) n ON true
    WHERE NOT EXISTS (SELECT FROM article_urls u WHERE u.url = ANY(f.urls))
    ON CONFLICT DO NOTHING
    RETURNING id, cluster_id
),
done AS (
    SELECT b.idx, b.id, i.cluster_id, b.url, b.urls, b.content_hash
    FROM ins i JOIN sosik_batch b ON b.id = i.id
),
done_urls AS (
    SELECT d.id, u.url, u.url = d.url AS is_canonical,
           CASE WHEN u.url = d.url THEN d.content_hash END AS content_hash
    FROM done d CROSS JOIN unnest(d.urls) AS u(url)
),
added AS (
    INSERT INTO article_urls (url, article_id, is_canonical, content_hash)
    SELECT url, id, is_canonical, content_hash FROM done_urls
    ON CONFLICT (url) DO NOTHING
    RETURNING article_id
),
linked AS (
    UPDATE search_hits h
    SET article_id = (SELECT du.id FROM done_urls du
                      WHERE du.url = h.url OR du.url = h.portal_url
                      ORDER BY du.url = h.url DESC LIMIT 1)
    WHERE h.article_id IS NULL
      AND (h.url = ANY(ARRAY(SELECT url FROM done_urls))
           OR h.portal_url = ANY(ARRAY(SELECT url FROM done_urls)))
    RETURNING h.article_id
),
added_n AS (SELECT article_id, count(*)::int AS n FROM added GROUP BY article_id),
linked_n AS (SELECT article_id, count(*)::int AS n FROM linked GROUP BY article_id)
SELECT d.idx, d.id, d.cluster_id, coalesce(a.n, 0) AS urls_added, coalesce(l.n, 0) AS hits_linked
FROM done d
LEFT JOIN added_n a ON a.article_id = d.id
LEFT JOIN linked_n l ON l.article_id = d.id
"""

# The batch's first comers that INSERT_NEW_ARTICLES did not insert, resolved together when
# the answer needs no update: a known URL with the text seen there before (unchanged) or never
# fetched there (dropped_url), or no known URL and a constraint met (dropped_hash,
# dropped_headline). First comers share nothing, so resolving them at once is resolving them
# in order. Those whose text changed at a fetched URL (a possible update) are not returned.
RESOLVE_SEEN = """
WITH
todo AS MATERIALIZED (
    SELECT b.* FROM sosik_batch b WHERE b.idx = ANY(%(idxs)s::int[])
),
known AS MATERIALIZED (
    SELECT t.idx, u.url, u.article_id, u.content_hash
    FROM todo t JOIN article_urls u ON u.url = ANY(t.urls)
),
existing AS (
    SELECT DISTINCT ON (k.idx) k.idx, k.article_id
    FROM known k JOIN todo t ON t.idx = k.idx
    ORDER BY k.idx, k.url = t.url DESC, k.article_id
),
by_url AS (
    SELECT t.idx, e.article_id AS id,
        CASE
            WHEN s.content_hash IS NULL THEN 'dropped_url'
            WHEN s.content_hash = t.content_hash OR a.content_hash = t.content_hash
                THEN 'unchanged'
        END AS outcome
    FROM todo t
    JOIN existing e ON e.idx = t.idx
    JOIN articles a ON a.id = e.article_id
    LEFT JOIN known s ON s.idx = t.idx AND s.url = t.url AND s.article_id = e.article_id
),
by_dup AS (
    SELECT DISTINCT ON (t.idx) t.idx, d.id, d.outcome
    FROM todo t
    CROSS JOIN LATERAL (
        SELECT a.id, 'dropped_url' AS outcome, 1 AS pri
        FROM articles a WHERE a.canonical_url = t.url
        UNION ALL
        SELECT a.id, 'dropped_hash', 2
        FROM articles a WHERE a.content_hash = t.content_hash
        UNION ALL
        SELECT a.id, 'dropped_headline', 3
        FROM articles a
        WHERE a.publisher = t.publisher AND a.headline_key = t.headline_key
          AND (a.published_at AT TIME ZONE 'Asia/Seoul')::date
              = (t.published_at AT TIME ZONE 'Asia/Seoul')::date
    ) d
    WHERE NOT EXISTS (SELECT FROM existing e WHERE e.idx = t.idx)
    ORDER BY t.idx, d.pri
),
target AS MATERIALIZED (
    SELECT x.idx, x.id, x.outcome, t.url, t.urls, t.content_hash
    FROM (SELECT idx, id, outcome FROM by_url WHERE outcome IS NOT NULL
          UNION ALL
          SELECT idx, id, outcome FROM by_dup) x
    JOIN todo t ON t.idx = x.idx
),
touch AS (
    UPDATE articles a SET last_seen_at = now()
    FROM (SELECT DISTINCT id FROM target) x
    WHERE a.id = x.id
),
seen AS (
    UPDATE article_urls u SET content_hash = x.content_hash
    FROM target x
    WHERE u.url = x.url AND u.article_id = x.id
      AND u.content_hash IS DISTINCT FROM x.content_hash
),
target_urls AS (
    SELECT x.idx, x.id, u.url, CASE WHEN u.url = x.url THEN x.content_hash END AS content_hash
    FROM target x CROSS JOIN unnest(x.urls) AS u(url)
),
added AS (
    INSERT INTO article_urls (url, article_id, is_canonical, content_hash)
    SELECT tu.url, tu.id, false, tu.content_hash
    FROM target_urls tu
    WHERE NOT EXISTS (SELECT FROM known k WHERE k.url = tu.url)
    ON CONFLICT (url) DO NOTHING
    RETURNING url
),
linked AS (
    UPDATE search_hits h
    SET article_id = (SELECT tu.id FROM target_urls tu
                      WHERE tu.url = h.url OR tu.url = h.portal_url
                      ORDER BY tu.url = h.url DESC LIMIT 1)
    WHERE h.article_id IS NULL
      AND (h.url = ANY(ARRAY(SELECT url FROM target_urls))
           OR h.portal_url = ANY(ARRAY(SELECT url FROM target_urls)))
    RETURNING h.url, h.portal_url
)
SELECT x.idx, x.id, x.outcome,
       (SELECT count(*) FROM added a JOIN target_urls tu ON tu.url = a.url
        WHERE tu.idx = x.idx)::int AS urls_added,
       a.cluster_id,
       (SELECT count(*) FROM linked l JOIN target_urls tu ON tu.url IN (l.url, l.portal_url)
        WHERE tu.idx = x.idx)::int AS hits_linked
FROM target x JOIN articles a ON a.id = x.id
"""

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

SELECT_ARTICLE = "SELECT * FROM articles WHERE id = %(id)s"
SELECT_ARTICLE_URLS = (
    "SELECT * FROM article_urls WHERE article_id = %(id)s ORDER BY first_seen_at, url"
)
SELECT_ARTICLE_VERSIONS = (
    "SELECT * FROM article_versions WHERE article_id = %(id)s ORDER BY version"
)
SELECT_SEARCH_HITS = """
SELECT * FROM search_hits
WHERE (%(run)s::bigint IS NULL OR crawl_run_id = %(run)s::bigint)
ORDER BY portal, query, page, rank, id
"""


def store_article(
    conn: psycopg.Connection[Any],
    item: ArticleItem,
    *,
    crawl_run_id: int | None = None,
    cluster_distance: int = 3,
    cluster_window_days: float = 3,
) -> StoreResult:
    """Store one article in its own transaction; see the module docstring for the outcomes.

    Missing derived keys (`headline_key`, `content_hash`, `simhash`) are computed here.
    """
    return store_articles(
        conn,
        [item],
        crawl_run_id=crawl_run_id,
        cluster_distance=cluster_distance,
        cluster_window_days=cluster_window_days,
    )[0]


def store_articles(
    conn: psycopg.Connection[Any],
    items: Sequence[ArticleItem],
    *,
    crawl_run_id: int | None = None,
    cluster_distance: int = 3,
    cluster_window_days: float = 3,
) -> list[StoreResult]:
    """Store a batch in ONE transaction; one StoreResult per item, in the items' order.

    The outcome of every item is the one `store_article` would give storing the items one
    after the other, in order. For speed, the items that share nothing with an earlier item of
    the batch (`first_comers`) go first, through two set-based statements (insert the new
    ones; resolve those that met a known URL or a constraint, unless their text changed); the
    others, and a first comer that may be an update, then go through the one-item statement,
    pipelined, in the batch's order. Storing first comers early cannot change any outcome
    except when an update comes before one of them (it changes an article's text, hash,
    headline or SimHash): then the savepoint is rolled back and the batch is stored one by one.
    Any database error rolls the whole batch back and is raised.
    """
    if not items:
        return []
    window = timedelta(days=cluster_window_days)
    params = [_article_params(it, crawl_run_id, cluster_distance, window) for it in items]
    near = {"distance": cluster_distance, "window": window}
    one, many = _queries(cluster_distance)
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
            copy.set_types([t for _, t in BATCH_COLUMNS])
            for article_id, i in zip(ids, fast, strict=True):
                p = params[i]
                copy.write_row([article_id, i, *(p[c] for c, _ in BATCH_COLUMNS[2:])])
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
        keys: list[tuple[Any, ...]] = [("url", u) for u in p["urls"]]
        keys.append(("hash", p["content_hash"]))
        if p["publisher"] and p["headline_key"] and p["published_at"]:
            day = p["published_at"].astimezone(KST).date()
            keys.append(("headline", p["publisher"], p["headline_key"], day))
        clash = any(k in seen for k in keys)
        seen.update(keys)
        h = p["simhash"]
        if h is not None:
            mine = [(b, (h >> (16 * b)) & 0xFFFF) for b in range(4)]
            clash = clash or any(
                hamming(h, params[j]["simhash"]) <= cluster_distance
                for band in mine
                for j in bands.get(band, ())
            )
            for band in mine:
                bands[band].append(i)
        if not clash:
            first.append(i)
    return first


def store_search_hits(
    conn: psycopg.Connection[Any], hits: Iterable[SearchHit], crawl_run_id: int | None
) -> list[int]:
    """Upsert hits by (portal, query, url); their ids, in order.

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


def get_article(conn: psycopg.Connection[Any], article_id: int) -> ArticleRow | None:
    with conn.cursor(row_factory=class_row(ArticleRow)) as cur:
        return cur.execute(SELECT_ARTICLE, {"id": article_id}).fetchone()


def article_urls(conn: psycopg.Connection[Any], article_id: int) -> list[ArticleUrlRow]:
    with conn.cursor(row_factory=class_row(ArticleUrlRow)) as cur:
        return cur.execute(SELECT_ARTICLE_URLS, {"id": article_id}).fetchall()


def article_versions(conn: psycopg.Connection[Any], article_id: int) -> list[ArticleVersionRow]:
    """The superseded versions of an article, oldest first (the current text is in articles)."""
    with conn.cursor(row_factory=class_row(ArticleVersionRow)) as cur:
        return cur.execute(SELECT_ARTICLE_VERSIONS, {"id": article_id}).fetchall()


def search_hits(
    conn: psycopg.Connection[Any], crawl_run_id: int | None = None
) -> list[SearchHitRow]:
    """Stored search hits (of one run, or all), by portal, query, page and rank."""
    with conn.cursor(row_factory=class_row(SearchHitRow)) as cur:
        return cur.execute(SELECT_SEARCH_HITS, {"run": crawl_run_id}).fetchall()


def _queries(cluster_distance: int) -> tuple[str, str]:
    """(STORE_ARTICLE, INSERT_NEW_ARTICLES) with the near-duplicate filter for the distance."""
    return QUERIES[cluster_distance <= BANDED_MAX_DISTANCE]


def _build(banded: bool) -> tuple[str, str]:
    def near(probe: str, published: str) -> str:
        bands = NEAR_BANDS.format(probe=probe) if banded else NEAR_ANY
        return NEAR_CLUSTER.format(probe=probe, bands=bands, published=published)

    one = STORE_ARTICLE.format(near=near("%(simhash)s::bigint", "%(published_at)s::timestamptz"))
    many = INSERT_NEW_ARTICLES.format(near=near("f.simhash", "f.published_at"))
    return one, many


QUERIES = {banded: _build(banded) for banded in (True, False)}


def _one(row: StoreResult | None, item: ArticleItem) -> StoreResult:
    if row is None:
        # Every branch of STORE_ARTICLE yields a target while the writers' lock is held; no
        # row means someone wrote articles without it.
        raise RuntimeError(
            f"storing {item.url} resolved to no article (a writer without the lock?)"
        )
    return row


def _article_params(
    item: ArticleItem, crawl_run_id: int | None, distance: int, window: timedelta
) -> dict[str, Any]:
    return {
        "url": item.url,
        "urls": item.all_urls(),
        "portal": item.portal,
        "publisher": item.publisher,
        "title": item.title,
        "subtitle": item.subtitle,
        "body": item.body,
        "authors": list(item.authors),
        "section": item.section,
        "published_at": _aware(item.published_at),
        "updated_at": _aware(item.updated_at),
        "headline_key": item.headline_key or headline_key(item.title),
        "content_hash": item.content_hash or content_hash(item.body),
        "simhash": item.simhash if item.simhash is not None else story_simhash(item.body),
        "parser": item.parser,
        "crawl_run_id": crawl_run_id,
        "distance": distance,
        "window": window,
    }


def _aware(moment: datetime | None) -> datetime | None:
    """A time without an offset is Korean time: that is what Korean news pages print."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=KST)
    return moment


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
        "published_at": _aware(hit.published_at),
    }
