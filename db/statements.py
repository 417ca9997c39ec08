"""The write path's SQL: every rule written once, every statement built from those fragments.

- `ARTICLE_COLUMNS`: the one list of what an article row holds from an item (column, parameter,
  type, and how an update merges it). The INSERTs, the UPDATE of a new version, the batch's
  temporary table and its binary COPY are all generated from it.
- `DUPLICATE_OF`: the one duplicate rule. An item is a duplicate of the article that has its
  canonical URL, else its text (`content_hash`), else the same publisher's headline key on the
  same KST day: the order in which the unique constraints of revision 0001 decide. It is the
  `dup` step of a new item, the check before a text change becomes a version, and the batch's
  set-based resolution alike. (`db.batch.first_comers` applies the same keys in Python to the
  items of one batch, which the database has not seen yet.)
- `NEAR_CLUSTER`: the near-duplicate rule (the cluster of the nearest recent article).
- `SUSPECT`: a new text at a fetched URL that is much shorter than the stored one is held in
  `article_suspects`, not made current, until a later crawl sees the same text again.
- `take_writer_lock`: the one way every writing transaction takes the writers' lock.

`STORE_ARTICLE` (one item, every case), `INSERT_NEW_ARTICLES` and `RESOLVE_SEEN` (the batch's
set-based path, see db.batch) are assembled at import time from these.
"""

from __future__ import annotations

from dataclasses import dataclass

# Article batches run with generic plans, set in the writers' lock's round trip
# (db.locks.take_writer_lock: every writing transaction takes it first)
# (STORE_ARTICLE takes ~10 ms to plan and well under 1 ms to run, and its plan does not depend
# on the values: the prepared statement's generic plan is always the right one).
GENERIC_PLANS = "SET LOCAL plan_cache_mode = force_generic_plan"


# The KST calendar day of a timestamptz, written exactly as in the headline index's expression
# (`articles_headline_day_key`), so that the rule and the constraint are the same thing.
KST_DAY = "(({} AT TIME ZONE 'Asia/Seoul')::date)"


@dataclass(frozen=True, slots=True)
class Column:
    """One article column written from an item.

    `param`: the item parameter (and the batch table's column) it comes from; `type`: its SQL
    type; `on_update`: the expression a new version sets it to (`{new}` is the new value, `a`
    the stored row), None when a version never changes it.
    """

    name: str
    param: str
    type: str
    on_update: str | None = "{new}"


ARTICLE_COLUMNS: tuple[Column, ...] = (
    Column("canonical_url", "url", "text", None),
    Column("portal", "portal", "text", None),
    Column("publisher", "publisher", "text", None),
    Column("title", "title", "text"),
    Column("subtitle", "subtitle", "text"),
    Column("body", "body", "text"),
    Column("authors", "authors", "text[]"),
    Column("section", "section", "text", "coalesce({new}, a.section)"),
    Column("published_at", "published_at", "timestamptz", "coalesce(a.published_at, {new})"),
    Column("updated_at", "updated_at", "timestamptz", "coalesce({new}, now())"),
    Column("headline_key", "headline_key", "text"),
    Column("content_hash", "content_hash", "text"),
    Column("simhash", "simhash", "bigint"),
    Column("parser", "parser", "text"),
)
# What a superseded text keeps (article_versions) and what a held suspect text keeps.
VERSION_COLUMNS = ("title", "subtitle", "body", "content_hash", "published_at", "updated_at")
# Binary COPY type names of the SQL types above.
_COPY_TYPES = {"text": "text", "text[]": "text[]", "timestamptz": "timestamptz", "bigint": "int8"}


def insert_columns() -> str:
    """The column list of an INSERT INTO articles."""
    return ", ".join(["id", *(c.name for c in ARTICLE_COLUMNS), "cluster_id", "crawl_run_id"])


def item_values(ref: str) -> str:
    """The item's values in ARTICLE_COLUMNS order; `ref` formats a parameter (`{param}`,
    `{type}`): `%({param})s::{type}` for one item, `f.{param}` for the batch table."""
    return ", ".join(ref.format(param=c.param, type=c.type) for c in ARTICLE_COLUMNS)


def update_set() -> str:
    """The SET list of a new version (the new values are the statement's parameters)."""
    sets = [
        f"{c.name} = " + c.on_update.format(new=f"%({c.param})s::{c.type}")
        for c in ARTICLE_COLUMNS
        if c.on_update is not None
    ]
    return ", ".join(
        [*sets, "version = a.version + 1", "captured_at = now()", "last_seen_at = now()"]
    )


BATCH_COPY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "int8"),
    ("idx", "int4"),
    ("urls", "text[]"),
    *((c.param, _COPY_TYPES[c.type]) for c in ARTICLE_COLUMNS),
)


def duplicate_of(
    url: str, content_hash: str, publisher: str, headline_key: str, published_at: str, other: str
) -> str:
    """THE duplicate rule, as a subquery giving (id, outcome) of the article an item duplicates.

    The arguments are SQL expressions for the item's keys; `other` is an article id the rule
    must not return (the item's own article when its text changes), or NULL.
    """
    return f"""
        SELECT d.id, d.outcome
        FROM (
            SELECT a.id, 'dropped_url' AS outcome, 1 AS pri
            FROM articles a WHERE a.canonical_url = {url}
            UNION ALL
            SELECT a.id, 'dropped_hash', 2
            FROM articles a WHERE a.content_hash = {content_hash}
            UNION ALL
            SELECT a.id, 'dropped_headline', 3
            FROM articles a
            WHERE a.publisher = {publisher} AND a.headline_key = {headline_key}
              AND {KST_DAY.format("a.published_at")} = {KST_DAY.format(published_at)}
        ) d
        WHERE d.id IS DISTINCT FROM {other}
        ORDER BY d.pri
        LIMIT 1"""


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

# The suspect rule, for a text that would become a new version of article `c`: much shorter
# than the stored text (fewer than `suspect_ratio` of its characters), and not the same short
# text a previous crawl already held (seen again in another run, it is the page as it now is).
# A truncated fetch, a paywall teaser or an error page served with 200 is held, not published.
SUSPECT = """char_length(%(body)s::text) < %(suspect_ratio)s::float8 * char_length(c.body)
                 AND NOT EXISTS (
                     SELECT FROM article_suspects s
                     WHERE s.article_id = c.id AND s.content_hash = %(content_hash)s::text
                       AND s.crawl_run_id IS DISTINCT FROM %(crawl_run_id)s::bigint)"""

_VERSION_LIST = ", ".join(VERSION_COLUMNS)

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
    INSERT INTO articles ({insert_columns})
    SELECT f.id, {values},
           coalesce((SELECT n.cluster_id FROM near n), f.id), %(crawl_run_id)s::bigint
    FROM fresh f
    ON CONFLICT DO NOTHING
    RETURNING id, cluster_id
),
dup AS (
    SELECT x.id, x.outcome FROM ({dup_new}) x
    WHERE NOT EXISTS (SELECT FROM existing) AND NOT EXISTS (SELECT FROM ins)
),
cur AS (
    SELECT a.id, a.version, {a_version_list}, a.publisher, a.captured_at,
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
            ELSE coalesce(
                (SELECT x.outcome FROM ({dup_update}) x),
                CASE WHEN {suspect} THEN 'suspect' ELSE 'updated' END)
        END AS outcome
    FROM cur c
),
upd AS (
    UPDATE articles a SET {update_set}
    FROM decision d
    WHERE a.id = d.id AND d.outcome = 'updated'
),
versions AS (
    INSERT INTO article_versions (article_id, version, {version_list}, captured_at)
    SELECT d.id, d.version, {d_version_list}, d.captured_at
    FROM decision d
    WHERE d.outcome = 'updated'
),
held AS (
    INSERT INTO article_suspects (article_id, url, {version_list}, crawl_run_id)
    SELECT d.id, %(url)s, %(title)s, %(subtitle)s, %(body)s, %(content_hash)s,
           %(published_at)s::timestamptz, %(updated_at)s::timestamptz, %(crawl_run_id)s::bigint
    FROM decision d
    WHERE d.outcome = 'suspect'
    ON CONFLICT (article_id, content_hash) DO NOTHING
),
confirmed AS (
    DELETE FROM article_suspects s
    USING decision d
    WHERE d.outcome = 'updated' AND s.article_id = d.id
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
    WHERE u.url = %(url)s AND u.article_id = t.id AND t.outcome <> 'suspect'
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

# The batch's temporary table: made once per session, emptied at every commit (and here, in
# case an outer transaction holds the last batch's rows). Bodies are toasted in it on their
# way to articles: uncompressed.
ENSURE_BATCH_TABLE = """
DO $$
BEGIN
    IF to_regclass('pg_temp.sosik_batch') IS NULL THEN
        CREATE TEMPORARY TABLE sosik_batch ({batch_columns}) ON COMMIT DELETE ROWS;
        ALTER TABLE sosik_batch ALTER COLUMN body SET STORAGE EXTERNAL;
    END IF;
    DELETE FROM sosik_batch;
END
$$
"""

# Ids drawn ahead (the temporary table must not depend on the sequence: it would block dropping
# it), in order, under the writers' lock. An item that is not inserted leaves a hole.
DRAW_IDS = "SELECT nextval('articles_id_seq'::regclass) FROM generate_series(1, %(n)s)"

# The batch fast path, for the items of a batch that share no URL, text, headline or
# near-duplicate with an earlier item of the batch: one statement inserts the articles and
# their URLs and links their search hits. Items that meet a known URL or a constraint are not
# returned: RESOLVE_SEEN or STORE_ARTICLE resolve them.
INSERT_NEW_ARTICLES = """
WITH
ins AS (
    INSERT INTO articles ({insert_columns})
    SELECT f.id, {values}, coalesce(n.cluster_id, f.id), %(crawl_run_id)s::bigint
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
linked AS ({link_done}
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
# fetched there (dropped_url), or no known URL and a duplicate (DUPLICATE_OF). First comers
# share nothing, so resolving them at once is resolving them in order. Those whose text changed
# at a fetched URL (a possible update, or a suspect) are not returned.
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
    SELECT t.idx, d.id, d.outcome
    FROM todo t
    CROSS JOIN LATERAL ({dup_batch}) d
    WHERE NOT EXISTS (SELECT FROM existing e WHERE e.idx = t.idx)
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
linked AS ({link_target}
)
SELECT x.idx, x.id, x.outcome,
       (SELECT count(*) FROM added a JOIN target_urls tu ON tu.url = a.url
        WHERE tu.idx = x.idx)::int AS urls_added,
       a.cluster_id,
       (SELECT count(*) FROM linked l JOIN target_urls tu ON tu.url IN (l.url, l.portal_url)
        WHERE tu.idx = x.idx)::int AS hits_linked
FROM target x JOIN articles a ON a.id = x.id
"""


def link_hits(urls: str, returning: str) -> str:
    """Link the unlinked search hits of a set of (id, url) rows (a CTE named `urls`) to those
    articles: a hit's own URL first, else its portal copy's."""
    return f"""
    UPDATE search_hits h
    SET article_id = (SELECT x.id FROM {urls} x
                      WHERE x.url = h.url OR x.url = h.portal_url
                      ORDER BY x.url = h.url DESC LIMIT 1)
    WHERE h.article_id IS NULL
      AND (h.url = ANY(ARRAY(SELECT url FROM {urls}))
           OR h.portal_url = ANY(ARRAY(SELECT url FROM {urls})))
    RETURNING {returning}"""


def _near(banded: bool, probe: str, published: str) -> str:
    bands = NEAR_BANDS.format(probe=probe) if banded else NEAR_ANY
    return NEAR_CLUSTER.format(probe=probe, bands=bands, published=published)


def _build(banded: bool) -> tuple[str, str]:
    """(STORE_ARTICLE, INSERT_NEW_ARTICLES) with the near-duplicate filter of one kind."""
    one = STORE_ARTICLE.format(
        near=_near(banded, "%(simhash)s::bigint", "%(published_at)s::timestamptz"),
        insert_columns=insert_columns(),
        values=item_values("%({param})s::{type}"),
        dup_new=duplicate_of(
            "%(url)s::text",
            "%(content_hash)s::text",
            "%(publisher)s::text",
            "%(headline_key)s::text",
            "%(published_at)s::timestamptz",
            "NULL::bigint",
        ),
        dup_update=duplicate_of(
            "NULL::text",
            "%(content_hash)s::text",
            "c.publisher",
            "%(headline_key)s::text",
            "coalesce(c.published_at, %(published_at)s::timestamptz)",
            "c.id",
        ),
        suspect=SUSPECT,
        update_set=update_set(),
        version_list=_VERSION_LIST,
        a_version_list=", ".join(f"a.{c}" for c in VERSION_COLUMNS),
        d_version_list=", ".join(f"d.{c}" for c in VERSION_COLUMNS),
    )
    many = INSERT_NEW_ARTICLES.format(
        insert_columns=insert_columns(),
        values=item_values("f.{param}"),
        near=_near(banded, "f.simhash", "f.published_at"),
        link_done=link_hits("done_urls", "h.article_id"),
    )
    return one, many


# {banded: (STORE_ARTICLE, INSERT_NEW_ARTICLES)}: banded when the distance is within
# BANDED_MAX_DISTANCE (the band indexes find every candidate), else the whole window.
QUERIES = {banded: _build(banded) for banded in (True, False)}
RESOLVE_SEEN = RESOLVE_SEEN.format(
    link_target=link_hits("target_urls", "h.url, h.portal_url"),
    dup_batch=duplicate_of(
        "t.url", "t.content_hash", "t.publisher", "t.headline_key", "t.published_at", "NULL::bigint"
    ),
)
ENSURE_BATCH_TABLE = ENSURE_BATCH_TABLE.format(
    batch_columns=", ".join(
        [
            "id bigint NOT NULL",
            "idx integer NOT NULL",
            "urls text[] NOT NULL",
            *(
                f"{c.param} {c.type}" + (" NOT NULL" if c.param == "url" else "")
                for c in ARTICLE_COLUMNS
            ),
        ]
    )
)
COPY_BATCH = (
    f"COPY sosik_batch ({', '.join(c for c, _ in BATCH_COPY_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
)
