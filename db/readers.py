"""What people read: one article in full, a cluster, the runs and the crawl's health.

Every query here reads only what the role `sosik_reader` may SELECT: the `articles_feed` view
(the reader contract) and the `reader_*` views of migration 0007. `sosik serve` connects as
that role, so nothing here can write, and nothing here needs more than a reader has.

Rows come back as dicts (JSON-ready once datetimes are encoded); an article is shaped like its
`articles_feed` row, with its addresses, versions, cluster mates and search hits added.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

__all__ = [
    "FEED_COLUMNS",
    "READER_ROLE",
    "begin_reading",
    "reading",
    "article",
    "article_id_for_url",
    "cluster",
    "health",
    "run",
    "runs",
]

Conn = psycopg.Connection[Any]

READER_ROLE = "sosik_reader"
STATEMENT_TIMEOUT_MS = 2000
DELAY_SAMPLE = 1000  # newest articles whose capture delay the health figures give

FEED_COLUMNS = (
    "id", "canonical_url", "urls", "portal", "publisher", "title", "subtitle", "body",
    "authors", "section", "published_at", "updated_at", "version", "cluster_id",
    "first_seen_at", "last_seen_at",
)  # fmt: skip
# A feed row without its text: what lists show.
SUMMARY = ", ".join(c for c in FEED_COLUMNS if c != "body")

SELECT_ARTICLE = "SELECT * FROM articles_feed WHERE id = %(id)s"
SELECT_URLS = """
SELECT url, is_canonical, first_seen_at FROM reader_article_urls
WHERE article_id = %(id)s ORDER BY is_canonical DESC, first_seen_at, url
"""
SELECT_VERSIONS = """
SELECT version, title, subtitle, body, published_at, updated_at, captured_at, superseded_at
FROM reader_article_versions WHERE article_id = %(id)s ORDER BY version
"""
SELECT_MATES = f"""
SELECT {SUMMARY} FROM articles_feed
WHERE cluster_id = %(cluster)s AND id <> %(id)s ORDER BY id LIMIT %(limit)s
"""
SELECT_HITS = """
SELECT id, crawl_run_id, query, portal, page, rank, title, snippet, url, portal_url,
       publisher, published_at, first_seen_at, seen_at
FROM reader_search_hits WHERE article_id = %(id)s ORDER BY first_seen_at, id LIMIT %(limit)s
"""
SELECT_BY_URL = "SELECT article_id FROM reader_article_urls WHERE url = ANY(%(urls)s) LIMIT 1"
SELECT_CLUSTER = f"""
SELECT {SUMMARY} FROM articles_feed WHERE cluster_id = %(id)s ORDER BY id LIMIT %(limit)s
"""

RUN_COLUMNS = "id, spider, job, args, started_at, finished_at, status, stats"
SELECT_RUNS = f"""
SELECT {RUN_COLUMNS} FROM reader_runs
WHERE (%(before)s::bigint IS NULL OR id < %(before)s)
  AND (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(job)s::text IS NULL OR job = %(job)s)
ORDER BY id DESC LIMIT %(limit)s
"""
SELECT_RUN = f"SELECT {RUN_COLUMNS}, errors FROM reader_runs WHERE id = %(id)s"

# -- health ------------------------------------------------------------------------------------
# The newest run of each scheduled job (runs started by `sosik schedule` carry args.job).
LAST_RUN_PER_JOB = """
SELECT DISTINCT ON (job) job, id, spider, started_at, finished_at, status,
       jsonb_array_length(coalesce(stats->'alarms', '[]'::jsonb)) AS alarms
FROM reader_runs WHERE job IS NOT NULL ORDER BY job, id DESC
"""
DRIFT_ALARMS = """
SELECT id, spider, job, started_at, status, stats->'alarms' AS alarms FROM reader_runs
WHERE started_at >= now() - make_interval(days => %(days)s)
  AND jsonb_typeof(stats->'alarms') = 'array' AND jsonb_array_length(stats->'alarms') > 0
ORDER BY id DESC LIMIT %(limit)s
"""
# How far behind the feed is: when its newest article was captured (the id order is the
# capture order, so the primary key finds it without a scan).
LAG = """
SELECT first_seen_at AS newest_article_at,
       extract(epoch FROM now() - first_seen_at)::float8 AS lag_seconds
FROM articles_feed ORDER BY id DESC LIMIT 1
"""
LAST_OK_RUN = """
SELECT id, spider, job, finished_at FROM reader_runs
WHERE status = 'ok' AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 1
"""
# Articles captured per KST day and portal (an index-only scan of articles_first_seen_idx).
PER_DAY = """
SELECT (first_seen_at AT TIME ZONE 'Asia/Seoul')::date AS day, portal, count(*) AS articles
FROM articles_feed
WHERE first_seen_at >= now() - make_interval(days => %(days)s)
GROUP BY 1, 2 ORDER BY 1, 2
"""
# How long after publication articles are captured: the median over the newest ones.
CAPTURE_DELAY = """
SELECT count(*) AS sample,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM first_seen_at - published_at)
       ) AS median_capture_seconds
FROM (SELECT first_seen_at, published_at FROM articles_feed ORDER BY id DESC LIMIT %(sample)s) s
WHERE published_at IS NOT NULL
"""
RUNS_PER_DAY = """
SELECT (started_at AT TIME ZONE 'Asia/Seoul')::date AS day, status, count(*) AS runs
FROM reader_runs WHERE started_at >= now() - make_interval(days => %(days)s)
GROUP BY 1, 2 ORDER BY 1, 2
"""
# The URLs named as failed most often by the runs of the window. `errors` holds groups
# ({kind, reason, urls}); older runs hold one entry per page ({kind, url, reason}).
TOP_FAILING = """
SELECT u.url, count(*) AS times, array_agg(DISTINCT g->>'kind') AS kinds,
       max(r.id) AS last_run,
       (array_agg(coalesce(g->>'reason', g->>'error', '') ORDER BY r.id DESC))[1] AS reason
FROM reader_runs r
CROSS JOIN LATERAL jsonb_array_elements(
    CASE jsonb_typeof(r.errors) WHEN 'array' THEN r.errors ELSE '[]'::jsonb END) g
CROSS JOIN LATERAL jsonb_array_elements_text(
    CASE WHEN jsonb_typeof(g->'urls') = 'array' THEN g->'urls'
         ELSE jsonb_build_array(coalesce(g->>'url', '?')) END) u(url)
WHERE r.started_at >= now() - make_interval(days => %(days)s)
  AND jsonb_typeof(g) = 'object' AND NOT (coalesce(g->>'kind', '?') = ANY(%(notes)s))
GROUP BY u.url ORDER BY times DESC, last_run DESC, u.url LIMIT %(limit)s
"""


def begin_reading(timeout_ms: int = STATEMENT_TIMEOUT_MS) -> str:
    """The first statement of a reading transaction: read-only, one snapshot, as the reader
    role, cancelled after `timeout_ms` per statement (and per lock wait) (no parameters: one round trip)."""
    return (
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; "
        f"SET LOCAL ROLE {READER_ROLE}; "
        f"SET LOCAL statement_timeout = {int(timeout_ms)}; "
        f"SET LOCAL lock_timeout = {int(timeout_ms)}"
    )


@contextmanager
def reading(conn: Conn, timeout_ms: int = STATEMENT_TIMEOUT_MS) -> Iterator[Conn]:
    """A transaction on `conn` (autocommit) in which it reads as `sosik_reader`: whatever role
    the connection logged in as, it can write nothing and see only the reader views. Raises
    InsufficientPrivilege when that role may not act as sosik_reader."""
    with conn.transaction():
        conn.execute(begin_reading(timeout_ms))
        yield conn


def _rows(conn: Conn, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def _row(conn: Conn, query: str, params: dict[str, Any]) -> dict[str, Any] | None:
    rows = _rows(conn, query, params)
    return rows[0] if rows else None


def probe(conn: Conn) -> None:
    """Touch the feed and the reader views: raises InsufficientPrivilege when the session may
    not read them, UndefinedTable when migration 0007 is missing (run inside `reading`)."""
    conn.execute("SELECT 1 FROM articles_feed LIMIT 0")
    conn.execute("SELECT 1 FROM reader_runs LIMIT 0")


def article(conn: Conn, article_id: int, *, limit: int = 100) -> dict[str, Any] | None:
    """The article's feed row with `addresses` (every URL, canonical first), `versions`
    (oldest first, the current one last), `cluster` (the other articles of its story, at
    most `limit`) and `hits` (the search results that led to it, at most `limit`)."""
    row = _row(conn, SELECT_ARTICLE, {"id": article_id})
    if row is None:
        return None
    params = {"id": article_id, "cluster": row["cluster_id"], "limit": limit}
    row["addresses"] = _rows(conn, SELECT_URLS, params)
    row["versions"] = _rows(conn, SELECT_VERSIONS, params)
    row["cluster"] = _rows(conn, SELECT_MATES, params)
    row["hits"] = _rows(conn, SELECT_HITS, params)
    return row


def article_id_for_url(conn: Conn, urls: Iterable[str]) -> int | None:
    """The article stored at any of these addresses (give the URL as met and its canonical
    form: an alias is found as well as the canonical address)."""
    row = _row(conn, SELECT_BY_URL, {"urls": list(dict.fromkeys(urls))})
    return row["article_id"] if row else None


def cluster(conn: Conn, cluster_id: int, *, limit: int = 100) -> list[dict[str, Any]]:
    """The articles of one story (near-duplicates, wire copies), first stored first, without
    their text; empty when no such cluster."""
    return _rows(conn, SELECT_CLUSTER, {"id": cluster_id, "limit": limit})


def runs(
    conn: Conn,
    *,
    before_id: int | None = None,
    status: str | None = None,
    job: str | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Run records newest first (an id cursor: pass the last id seen as `before_id`)."""
    params = {"before": before_id, "status": status, "job": job, "limit": limit}
    return _rows(conn, SELECT_RUNS, params)


def run(conn: Conn, run_id: int) -> dict[str, Any] | None:
    """One run record with its named pages (`errors`)."""
    return _row(conn, SELECT_RUN, {"id": run_id})


def health(
    conn: Conn, *, days: int = 30, notes: Iterable[str] = (), limit: int = 20
) -> dict[str, Any]:
    """The crawl's health over the last `days`: the newest run of each scheduled job, runs with
    layout-drift alarms, how far behind the feed is (`lag`: the newest capture, the last `ok`
    run, the median delay from publication to capture over the newest DELAY_SAMPLE articles),
    articles captured per day and portal,
    runs per day and status, and the URLs most often named as failed (`notes`: kinds of named
    pages that are not failures, crawler.runrecord.NOTE_KINDS)."""
    params = {"days": days, "limit": limit, "notes": sorted(notes), "sample": DELAY_SAMPLE}
    lag = _row(conn, LAG, params) or {"newest_article_at": None, "lag_seconds": None}
    delay = _row(conn, CAPTURE_DELAY, params)
    return {
        "days": days,
        "jobs": _rows(conn, LAST_RUN_PER_JOB, params),
        "alarms": _rows(conn, DRIFT_ALARMS, params),
        "lag": {**lag, **(delay or {}), "last_ok_run": _row(conn, LAST_OK_RUN, params)},
        "articles_per_day": _rows(conn, PER_DAY, params),
        "runs_per_day": _rows(conn, RUNS_PER_DAY, params),
        "top_failing_urls": _rows(conn, TOP_FAILING, params),
    }
