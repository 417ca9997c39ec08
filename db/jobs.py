"""Scheduled jobs: one runner per job across hosts, their last runs, what a crawl already holds.

A job's lock is a session-level advisory lock in a namespace of its own ("sosj", apart from the
writers' lock in db.articles), keyed by `hashtext(job)`. It is held by the scheduler's
connection for as long as the job's crawls run and released when they end, or by PostgreSQL
when that connection dies, so a crashed scheduler never leaves a job locked.

Runs belong to a job through `crawl_runs.args->>'job'` (the crawl's SOSIK_JOB setting).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from db.rows import CrawlRun

JOB_LOCK_NS = 0x736F736A  # "sosj"

TRY_JOB_LOCK = "SELECT pg_try_advisory_lock(%(ns)s::int, hashtext(%(job)s))"
RELEASE_JOB_LOCK = "SELECT pg_advisory_unlock(%(ns)s::int, hashtext(%(job)s))"

# The newest start of each job, whatever its status: when the job last ran, for the schedule.
LAST_JOB_STARTS = """
SELECT args->>'job' AS job, max(started_at) AS started_at
FROM crawl_runs
WHERE args ? 'job'
GROUP BY args->>'job'
"""

# Per crawl of a job (spider + query or section), its newest run that finished with one of
# `statuses`: where the job's next window may start.
LAST_SUCCESSES = """
SELECT DISTINCT ON (spider, coalesce(args->>'query', args->>'section', ''))
       id, spider, args, started_at, finished_at, status, stats, errors
FROM crawl_runs
WHERE args->>'job' = %(job)s AND status = ANY(%(statuses)s)
ORDER BY spider, coalesce(args->>'query', args->>'section', ''), started_at DESC, id DESC
"""

LAST_SUCCESS_PER_JOB = """
SELECT args->>'job' AS job, max(coalesce(finished_at, started_at)) AS at
FROM crawl_runs
WHERE args ? 'job' AND status = ANY(%(statuses)s)
GROUP BY args->>'job'
"""

# URLs a crawl already holds: an article stored under it, or a hit of the same search.
# (portal, query, url) is search_hits' unique key, so the second half is an index lookup.
KNOWN_URLS = """
SELECT u.url FROM article_urls u WHERE u.url = ANY(%(urls)s)
UNION
SELECT h.url FROM search_hits h
WHERE h.portal = %(portal)s AND h.query = %(query)s AND h.url = ANY(%(urls)s)
"""


def try_job_lock(conn: psycopg.Connection[Any], job: str) -> bool:
    """Take the job's lock on this connection if nobody holds it; True when taken."""
    return bool(conn.execute(TRY_JOB_LOCK, {"ns": JOB_LOCK_NS, "job": job}).fetchone()[0])


def release_job_lock(conn: psycopg.Connection[Any], job: str) -> bool:
    """Release the job's lock held by this connection; False when it held none."""
    return bool(conn.execute(RELEASE_JOB_LOCK, {"ns": JOB_LOCK_NS, "job": job}).fetchone()[0])


@contextmanager
def job_lock(conn: psycopg.Connection[Any], job: str) -> Iterator[bool]:
    """`with job_lock(conn, name) as taken:` — run the job only when `taken`."""
    taken = try_job_lock(conn, job)
    try:
        yield taken
    finally:
        if taken and not conn.closed and not conn.broken:
            release_job_lock(conn, job)  # a dead session's locks are gone with it


def last_job_starts(conn: psycopg.Connection[Any]) -> dict[str, datetime]:
    """Job name -> when its newest run started (any status)."""
    return {job: at for job, at in conn.execute(LAST_JOB_STARTS).fetchall()}


def last_successes(
    conn: psycopg.Connection[Any], job: str, statuses: Iterable[str] = ("ok", "errors")
) -> list[CrawlRun]:
    """The newest successful run of each crawl (spider + query/section) of `job`."""
    with conn.cursor(row_factory=class_row(CrawlRun)) as cur:
        return cur.execute(LAST_SUCCESSES, {"job": job, "statuses": list(statuses)}).fetchall()


def last_success_per_job(
    conn: psycopg.Connection[Any], statuses: Iterable[str] = ("ok", "errors")
) -> dict[str, datetime]:
    """Job name -> when its newest successful run finished."""
    rows = conn.execute(LAST_SUCCESS_PER_JOB, {"statuses": list(statuses)}).fetchall()
    return {job: at for job, at in rows}


def known_urls(
    conn: psycopg.Connection[Any], urls: Iterable[str], portal: str = "", query: str = ""
) -> set[str]:
    """Those of `urls` already stored: as an article's address, or as a hit of this search."""
    wanted = sorted({u for u in urls if u})
    if not wanted:
        return set()
    rows = conn.execute(KNOWN_URLS, {"urls": wanted, "portal": portal, "query": query})
    return {r[0] for r in rows.fetchall()}
