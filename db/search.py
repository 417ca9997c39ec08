"""Korean full-text search over `article_search` (migration 0006), and its index's upkeep.

Reading (the reader role may run all of it: it reads `article_search` and `articles_feed`):

- `find(conn, q, …)`: a page of hits. Without `q`, the newest articles (by id) that pass the
  filters. With `q` (words, "quoted phrases"; every one must match), `order="relevance"` ranks
  a pool of the newest POOL matches by `ts_rank_cd` (title words weigh most) and pages through
  it with `offset`; when the pool is used up, `next_before_id` starts the pool of the next older
  matches. `order="newest"` gives the matches newest first. Either way a page costs a bounded
  amount of work whatever the table's size: matches are collected newest first, from a walk
  over the newest ids and then from the GIN index's answer in id windows (see `_collect`),
  and counted exactly only when all of them were seen; otherwise `estimated_total`
  extrapolates the density of the matches found over the ids not searched.
- Paging: pass back `next_before_id` and `next_offset` as `before_id` and `offset`. The first
  page pins `next_before_id` to the newest id it saw, so articles stored meanwhile do not shift
  the pages (no hit repeated or skipped).
- `query_terms(q)`: what to highlight in a hit (lower case; match case-insensitively).

Articles are found once `sosik db reindex` (crawler.extensions.indexer) has indexed them; `index_status`
says how many wait. Filters: `since`/`until` on the publication time (else the first
sighting); a date means that KST day (`until` includes it); portal, publisher, section equal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import psycopg
from psycopg.rows import class_row, dict_row

from crawler.domain.dates import KST
from crawler.domain.terms import facet, highlight_terms, query_expression, quote

POOL = 500  # newest matches ranked for relevance
FIRST_WINDOW = 1024  # newest ids walked first (see _collect)
MAX_LIMIT = 200
SNIPPET_BEFORE = 50
SNIPPET_LENGTH = 160
ORDERS = ("relevance", "newest")

FEED_COLUMNS = (
    "id, canonical_url, urls, portal, publisher, title, subtitle, body, authors, section,"
    " published_at, updated_at, version, cluster_id, first_seen_at, last_seen_at"
)
ID_RANGE = "SELECT min(article_id), max(article_id) FROM article_search"
# The filters come before the match: PostgreSQL tests conditions of equal cost in the order
# written, and a vector read from TOAST costs far more than a publisher compared.
MATCHES = """
SELECT article_id FROM article_search
WHERE article_id >= %(lo)s AND article_id < %(hi)s {filters} AND terms @@ %(q)s::tsquery
ORDER BY article_id DESC LIMIT %(limit)s
"""
PLAN_SETTINGS = "SELECT current_setting('enable_indexscan'), current_setting('enable_bitmapscan')"
PLAN_WALK = "SELECT set_config('enable_indexscan', 'on', true), set_config('enable_bitmapscan', 'off', true)"
PLAN_BITMAP = "SELECT set_config('enable_indexscan', 'off', true), set_config('enable_bitmapscan', 'on', true)"
PLAN_RESTORE = (
    "SELECT set_config('enable_indexscan', %s, true), set_config('enable_bitmapscan', %s, true)"
)
# ts_rank_cd normalisation 1: divided by 1 + log(number of terms), so a long article does not
# win by length alone.
RANKED = """
SELECT article_id, ts_rank_cd(terms, %(q)s::tsquery, 1) AS rank FROM article_search
WHERE article_id = ANY(%(ids)s)
ORDER BY rank DESC, article_id DESC
"""
FEED_BY_IDS = f"SELECT {FEED_COLUMNS} FROM articles_feed WHERE id = ANY(%(ids)s)"
NEWEST = f"""
SELECT {FEED_COLUMNS} FROM articles_feed
WHERE id < %(hi)s {{filters}}
ORDER BY id DESC LIMIT %(limit)s
"""
FEED_COUNT = """
SELECT count(*) FROM (SELECT FROM articles_feed WHERE true {filters} LIMIT %(most)s) AS n
"""
COUNTED = 10_000  # articles counted exactly at most; above, the planner's estimate
FEED_NEWEST_ID = "SELECT coalesce(max(id), 0) FROM articles_feed"


@dataclass(slots=True)
class SearchPage:
    """One page of `find`.

    hits: dicts shaped like `articles_feed` rows, plus `rank` (float; 0.0 without a query)
    and `snippet` (plain text around the first query term in the body, else its start).
    estimated_total: matches (or articles passing the filters) below the page's cursor;
    exact when `total_exact`. next_before_id/next_offset: the cursor of the next page (None:
    this was the last)."""

    hits: list[dict[str, Any]]
    estimated_total: int
    next_before_id: int | None
    next_offset: int = 0
    total_exact: bool = False
    terms: list[str] = field(default_factory=list)


def query_terms(q: str | None) -> list[str]:
    """The strings to highlight in a hit for `q`, longest first (crawler.domain.terms)."""
    return highlight_terms(q)


# -- filters ------------------------------------------------------------------------------------
def _instant(value: date | datetime | str | None, *, end: bool) -> datetime | None:
    """A bound as a timestamp: a date is that KST day (its start, or for `end` the next day's
    start); a naive datetime is KST."""
    if value is None:
        return None
    if isinstance(value, str):
        value = (
            datetime.fromisoformat(value)
            if "T" in value or " " in value
            else date.fromisoformat(value)
        )
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=KST)
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(), tzinfo=KST)


# A vector is read from TOAST for every row a plan tests it on (20-40 us each): a plan that
# narrows rows by an index on the time and then tests the vectors costs 40-200 ms where the
# GIN index's answer costs a few. The time is therefore compared on the heap only.
UNINDEXED_TIME = "(dated_at + interval '0 s')"


def with_facets(expression: str, **facets: str | None) -> str:
    """`expression` ANDed with the terms of the filter values given (crawler.domain.terms.facet)."""
    terms = [quote(facet(k, v)) for k, v in facets.items() if v is not None]
    return " & ".join([f"({expression})", *terms]) if terms else expression


def _filters(
    since: Any, until: Any, portal: str | None, publisher: str | None, section: str | None,
    when: str, prefix: str = "",
) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """` AND …` conditions and their parameters; `when` is the column of the time filter,
    `prefix` that of the others' table (`s.`)."""
    sql, params = [], {}
    start, stop = _instant(since, end=False), _instant(until, end=True)
    if start is not None:
        sql.append(f"{when} >= %(since)s")
        params["since"] = start
    if stop is not None:
        sql.append(f"{when} < %(until)s")
        params["until"] = stop
    for name, value in (("portal", portal), ("publisher", publisher), ("section", section)):
        if value is not None:
            sql.append(f"{prefix}{name} = %({name})s")
            params[name] = value
    return "".join(f" AND {c}" for c in sql), params


# -- find ---------------------------------------------------------------------------------------
def find(
    conn: psycopg.Connection[Any],
    q: str | None,
    *,
    since: date | datetime | str | None = None,
    until: date | datetime | str | None = None,
    portal: str | None = None,
    publisher: str | None = None,
    section: str | None = None,
    before_id: int | None = None,
    limit: int = 20,
    offset: int = 0,
    order: str = "relevance",
) -> SearchPage:
    """A page of articles matching `q` and the filters (see the module docstring)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise ValueError("offset must not be negative")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}")
    if before_id is not None and before_id < 1:
        raise ValueError("before_id must be a positive article id")
    if q is None or not q.strip():
        return _newest(conn, since, until, portal, publisher, section, before_id, limit)
    expression = query_expression(q)
    terms = query_terms(q)
    if expression is None:  # nothing searchable in q (punctuation, a lone particle)
        return SearchPage([], 0, None, total_exact=True, terms=terms)
    # the time filter on the heap, never through an index (see _collect); the others in the query
    filters, params = _filters(since, until, None, None, None, UNINDEXED_TIME)
    matching = with_facets(expression, portal=portal, publisher=publisher, section=section)
    low, high = conn.execute(ID_RANGE).fetchone()
    if low is None:
        return SearchPage([], 0, None, total_exact=True, terms=terms)
    top = min(before_id, high + 1) if before_id is not None else high + 1
    need = POOL if order == "relevance" else limit + 1
    ids, exhausted = _collect(conn, matching, filters, params, low, top, need)
    if exhausted:
        total, exact = len(ids), True
    else:  # the matches' density over the ids searched, times all the ids below the cursor
        total, exact = round(len(ids) * (top - low) / max(1, top - ids[-1])), False
    if order == "newest":
        page_ids = ids[:limit]
        ranks = dict(conn.execute(RANKED, {"q": expression, "ids": page_ids}).fetchall())
        more = len(ids) > limit
        nxt, nxt_offset = (page_ids[-1], 0) if more else (None, 0)
    else:
        ranked = conn.execute(RANKED, {"q": expression, "ids": ids}).fetchall()
        window = ranked[offset : offset + limit]
        page_ids = [r[0] for r in window]
        ranks = dict(window)
        if offset + limit < len(ranked):
            nxt, nxt_offset = top, offset + limit
        elif not exhausted:
            nxt, nxt_offset = ids[-1], 0
        else:
            nxt, nxt_offset = None, 0
    hits = _feed_rows(conn, page_ids)
    for hit in hits:
        hit["rank"] = float(ranks.get(hit["id"], 0.0))
        hit["snippet"] = snippet(hit["body"], terms)
    return SearchPage(hits, total, nxt, nxt_offset, exact, terms)


def _collect(
    conn: psycopg.Connection[Any], expression: str, filters: str, params: dict[str, Any],
    low: int, top: int, need: int,
) -> tuple[list[int], bool]:  # fmt: skip
    """Up to `need` matching ids below `top`, newest first; True when no older match is left.

    Two kinds of window, each plan forced (the planner cannot tell a common word from an
    absent one in a query of phrases and alternatives, and takes the wrong one either way):
    - the newest FIRST_WINDOW ids are walked newest first, each row's vector tested, stopping
      at `need` matches: a common word is served from a few dozen rows (the GIN index would
      first list its every match in the table);
    - below that, windows answered from bitmaps (the GIN index's matches ANDed with the id
      range and the filters' indexes), each wide enough for the matches still wanted at the
      density seen so far (the whole rest when none was seen): a rare or absent word costs
      its few index entries (walking the table for it read every vector: 0.5-1 s at 100,000).
    Never prepared: a generic plan is blind to the query's terms."""
    query = MATCHES.format(filters=filters)
    ids: list[int] = []
    hi, width, walk = top, FIRST_WINDOW, True
    with conn.transaction():
        before = conn.execute(PLAN_SETTINGS).fetchone()
        try:
            while hi > low:
                lo = max(low, hi - width)
                conn.execute(PLAN_WALK if walk else PLAN_BITMAP)
                values = {**params, "q": expression, "lo": lo, "hi": hi, "limit": need - len(ids)}
                rows = conn.execute(query, values, prepare=False).fetchall()
                ids.extend(r[0] for r in rows)
                if len(ids) >= need:
                    return ids, False
                covered = top - lo
                hi, walk = lo, False
                width = round((need - len(ids)) * covered / len(ids) * 2) if ids else hi - low
                width = max(width, FIRST_WINDOW)
            return ids, True
        finally:  # as they were, should the caller's transaction go on
            conn.execute(PLAN_RESTORE, before)


def _feed_rows(conn: psycopg.Connection[Any], ids: Sequence[int]) -> list[dict[str, Any]]:
    """The feed rows of `ids`, in the order of `ids` (an id whose article is gone is left out)."""
    if not ids:
        return []
    with conn.cursor(row_factory=dict_row) as cur:
        rows = {r["id"]: r for r in cur.execute(FEED_BY_IDS, {"ids": list(ids)}).fetchall()}
    return [rows[i] for i in ids if i in rows]


def _newest(
    conn: psycopg.Connection[Any], since: Any, until: Any, portal: str | None,
    publisher: str | None, section: str | None, before_id: int | None, limit: int,
) -> SearchPage:  # fmt: skip
    when = "coalesce(published_at, first_seen_at)"
    filters, params = _filters(since, until, portal, publisher, section, when)
    top = before_id if before_id is not None else conn.execute(FEED_NEWEST_ID).fetchone()[0] + 1
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            NEWEST.format(filters=filters), {**params, "hi": top, "limit": limit + 1}
        ).fetchall()
    hits = rows[:limit]
    for hit in hits:
        hit["rank"] = 0.0
        hit["snippet"] = snippet(hit["body"], [])
    nxt = hits[-1]["id"] if len(rows) > limit else None
    if nxt is None and before_id is None:
        total, exact = len(hits), True
    else:
        total, exact = _count(conn, filters, {**params, "hi": top}), True
        if total > COUNTED:
            sql = "EXPLAIN (FORMAT JSON) " + NEWEST.format(filters=filters).split("ORDER BY")[0]
            total, exact = estimate_rows(conn, sql, {**params, "hi": top}), False
    return SearchPage(hits, total, nxt, 0, exact, [])


def _count(conn: psycopg.Connection[Any], filters: str, params: dict[str, Any]) -> int:
    """Articles below the cursor passing the filters, counted up to COUNTED + 1."""
    sql = FEED_COUNT.format(filters=filters + " AND id < %(hi)s")
    return conn.execute(sql, {**params, "most": COUNTED + 1}).fetchone()[0]


def estimate_rows(conn: psycopg.Connection[Any], explain: str, params: dict[str, Any]) -> int:
    """The planner's estimate of the rows a query returns (EXPLAIN, nothing run)."""
    plan = conn.execute(explain, params).fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


_WS = re.compile(r"\s+")


def snippet(body: str | None, terms: Iterable[str]) -> str:
    """Plain text of the body around the first occurrence of one of `terms` (else its start),
    whitespace collapsed, with … where it was cut."""
    text = _WS.sub(" ", body or "").strip()
    lower = text.lower()
    found = [i for i in (lower.find(t) for t in terms if t) if i >= 0]
    start = max(0, min(found) - SNIPPET_BEFORE) if found else 0
    if start:  # begin at a word
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 15 else start
    end = start + SNIPPET_LENGTH
    piece = text[start:end]
    return ("…" if start else "") + piece + ("…" if end < len(text) else "")


# -- every match, streamed (sosik export) -------------------------------------------------------
STREAM_ALL = f"SELECT {FEED_COLUMNS} FROM articles_feed WHERE true {{filters}} ORDER BY id"
STREAM_MATCHES = f"""
SELECT {", ".join("f." + c.strip() for c in FEED_COLUMNS.split(","))}
FROM article_search s JOIN articles_feed f ON f.id = s.article_id
WHERE s.terms @@ %(q)s::tsquery {{filters}}
ORDER BY s.article_id
"""


def _stream_query(
    q: str | None, *, since: Any = None, until: Any = None, portal: str | None = None,
    publisher: str | None = None, section: str | None = None,
) -> tuple[str, dict[str, Any]] | None:  # fmt: skip
    if q is None or not q.strip():
        when = "coalesce(published_at, first_seen_at)"
        filters, params = _filters(since, until, portal, publisher, section, when)
        return STREAM_ALL.format(filters=filters), params
    expression = query_expression(q)
    if expression is None:
        return None
    filters, params = _filters(since, until, None, None, None, "s.dated_at")
    matching = with_facets(expression, portal=portal, publisher=publisher, section=section)
    return STREAM_MATCHES.format(filters=filters), {**params, "q": matching}


def stream(
    conn: psycopg.Connection[Any],
    q: str | None = None,
    *,
    since: date | datetime | str | None = None,
    until: date | datetime | str | None = None,
    portal: str | None = None,
    publisher: str | None = None,
    section: str | None = None,
    limit: int | None = None,
    batch: int = 1000,
) -> Iterator[dict[str, Any]]:
    """Every article matching `q` (all of them, not a pool) and the filters, in id order, as
    `articles_feed` dicts, read `batch` rows at a time through a server-side cursor (memory
    stays flat whatever the count). Runs in one read-only transaction: one snapshot, so a
    long export is consistent; times come in KST. Exhaust or close the generator before
    using the connection for anything else."""
    built = _stream_query(
        q, since=since, until=until, portal=portal, publisher=publisher, section=section
    )
    if built is None:
        return
    sql, params = built
    if limit is not None:
        sql += " LIMIT %(limit)s"
        params["limit"] = limit
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        conn.execute("SET LOCAL TIME ZONE 'Asia/Seoul'")  # times as Korean readers read them
        with conn.cursor(name="sosik_stream", row_factory=dict_row) as cur:
            cur.itersize = batch
            cur.execute(sql, params)
            yield from cur


def estimate_stream(conn: psycopg.Connection[Any], q: str | None = None, **filters: Any) -> int:
    """The planner's estimate of how many rows `stream(conn, q, **filters)` yields."""
    built = _stream_query(q, **filters)
    if built is None:
        return 0
    sql, params = built
    return estimate_rows(conn, "EXPLAIN (FORMAT JSON) " + sql, params)


# -- the index's upkeep (crawler.extensions.indexer) -------------------------------------------------------
@dataclass(slots=True, frozen=True)
class PendingArticle:
    """An article the indexer has to (re)index: its current version's text, its facets, and
    `dated_at` (published, else first seen).
    """

    id: int
    version: int
    title: str
    subtitle: str | None
    body: str
    dated_at: datetime
    portal: str
    publisher: str | None
    section: str | None


# The one rule of what waits for the index: an article whose index row is missing, of another
# version or cut by other rules. The indexer's passes read it, `index_status` counts it.
NEEDS_INDEX = """
FROM articles a LEFT JOIN article_search s ON s.article_id = a.id
WHERE (s.article_id IS NULL OR s.version <> a.version OR s.tokenizer <> %(tokenizer)s)
"""
# Those of them after `after`, in id order.
PENDING = f"""
SELECT a.id, a.version, a.title, a.subtitle, a.body,
       coalesce(a.published_at, a.first_seen_at) AS dated_at, a.portal, a.publisher, a.section
{NEEDS_INDEX}  AND a.id > %(after)s
ORDER BY a.id LIMIT %(limit)s
"""
PENDING_BY_IDS = PENDING.replace("a.id > %(after)s", "a.id = ANY(%(ids)s)")
# Written only if the article is still at the version indexed (a newer one is indexed later).
STORE = """
INSERT INTO article_search AS s
    (article_id, version, tokenizer, dated_at, portal, publisher, section, terms)
SELECT v.id, v.version, %(tokenizer)s, a.dated_at, a.portal, a.publisher, a.section, v.terms
FROM unnest(%(ids)s::bigint[], %(versions)s::int[], %(terms)s::tsvector[]) AS v(id, version, terms)
JOIN LATERAL (
    SELECT coalesce(published_at, first_seen_at) AS dated_at, portal, publisher, section, version
    FROM articles WHERE id = v.id
) a ON a.version = v.version
ON CONFLICT (article_id) DO UPDATE
SET version = EXCLUDED.version, tokenizer = EXCLUDED.tokenizer, dated_at = EXCLUDED.dated_at,
    portal = EXCLUDED.portal, publisher = EXCLUDED.publisher, section = EXCLUDED.section,
    terms = EXCLUDED.terms, indexed_at = now()
"""
STATUS = f"""
SELECT (SELECT count(*) FROM article_search) AS indexed,
       (SELECT count(*) {NEEDS_INDEX}) AS pending
"""


def pending_articles(
    conn: psycopg.Connection[Any], after: int, limit: int, tokenizer: str
) -> list[PendingArticle]:
    """The next `limit` articles after id `after` that need (re)indexing, in id order."""
    with conn.cursor(row_factory=class_row(PendingArticle)) as cur:
        return cur.execute(
            PENDING, {"after": after, "limit": limit, "tokenizer": tokenizer}
        ).fetchall()


def pending_by_ids(
    conn: psycopg.Connection[Any], ids: Iterable[int], tokenizer: str
) -> list[PendingArticle]:
    """Those of `ids` that need (re)indexing."""
    with conn.cursor(row_factory=class_row(PendingArticle)) as cur:
        return cur.execute(
            PENDING_BY_IDS, {"ids": list(ids), "limit": None, "tokenizer": tokenizer}
        ).fetchall()


def store_vectors(
    conn: psycopg.Connection[Any], rows: Sequence[tuple[int, int, str]], tokenizer: str
) -> int:
    """Write (article id, version, tsvector literal) rows in one statement; how many were
    written (an article that got a newer version meanwhile is skipped: indexed next time)."""
    if not rows:
        return 0
    ids, versions, terms = (list(x) for x in zip(*rows, strict=True))
    cur = conn.execute(
        STORE, {"ids": ids, "versions": versions, "terms": terms, "tokenizer": tokenizer}
    )
    return cur.rowcount


def index_status(conn: psycopg.Connection[Any], tokenizer: str) -> tuple[int, int]:
    """(rows in the index, articles waiting to be indexed or re-indexed). Counts every row."""
    row = conn.execute(STATUS, {"tokenizer": tokenizer}).fetchone()
    return int(row[0]), int(row[1])
