"""Scheduled jobs: one runner per job across hosts, their last runs, what a crawl already holds.

A job's lock is a lease (db.locks.Lease) named `job:<name>`: a row of `sosik_leases` that no
reader can see, taken by one scheduler for as long as the job's crawls run, renewed by a
heartbeat, released when they end. A crashed scheduler never leaves a job locked: its lease is
free as soon as its database session is gone, or at the latest when it expires (LEASE_TTL).

Runs belong to a job through `crawl_runs.args->>'job'` (the crawl's SOSIK_JOB setting).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from db.locks import LEASE_TTL, Lease, LeaseRow, lease_holder
from db.rows import CrawlRun

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


def lease_name(job: str) -> str:
    """The name of a job's lease in `sosik_leases`."""
    return f"job:{job}"


def job_lock(url: str | None, job: str, *, ttl: float = LEASE_TTL) -> Lease:
    """`with job_lock(url, name) as lock:` — run the job only when `lock.held`.

    When it is not held, `lock.holder` names the scheduler that has it (owner, since when).
    """
    return Lease(url, lease_name(job), ttl=ttl)


def job_holder(conn: psycopg.Connection[Any], job: str) -> LeaseRow | None:
    """Who runs `job` now, if anybody."""
    return lease_holder(conn, lease_name(job))


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
