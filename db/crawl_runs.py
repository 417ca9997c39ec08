"""Crawl runs: one row per crawl, with its arguments, final stats and errors, and who runs it.

`start_run` when the crawl opens (status `running`, with the process's pid, host and identity),
`heartbeat` while it runs (its stats and errors so far), `finish_run` when it closes (`ok`,
`errors`, `degraded`, `failed`). A run still `running` whose process is gone is marked `killed`
by the next command (crawler.runrecord.reap_dead_runs) with what its last heartbeat recorded.
Stats are stored as JSON; datetimes and other non-JSON values are written as strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from db.rows import CrawlRun

__all__ = [
    "CrawlRun",
    "add_to_run",
    "database_identity",
    "finish_run",
    "get_run",
    "heartbeat",
    "mark_killed",
    "previous_run",
    "recent_runs",
    "running_runs",
    "start_run",
]

INSERT_RUN = """
INSERT INTO crawl_runs (spider, args, pid, host, process, heartbeat_at, resumed_from, resume_since)
VALUES (%(spider)s, %(args)s, %(pid)s, %(host)s, %(process)s, now(), %(resumed_from)s,
        %(resume_since)s)
RETURNING id
"""
FINISH_RUN = """
UPDATE crawl_runs
SET finished_at = now(), status = %(status)s, stats = %(stats)s, errors = %(errors)s
WHERE id = %(id)s
"""
HEARTBEAT = """
UPDATE crawl_runs SET heartbeat_at = now(), stats = coalesce(%(stats)s, stats),
                      errors = coalesce(%(errors)s, errors)
WHERE id = %(id)s AND status = 'running'
"""
RUNNING_RUNS = """
SELECT * FROM crawl_runs WHERE status = 'running' ORDER BY id
"""
MARK_KILLED = """
UPDATE crawl_runs
SET status = 'killed', finished_at = coalesce(heartbeat_at, started_at),
    stats = stats || %(stats)s
WHERE id = %(id)s AND status = 'running'
"""
# Whatever was learnt about a run after it ended (items written back from its spill file,
# items refused then): its errors and stats grow, its status is set when one is given.
ADD_TO_RUN = """
UPDATE crawl_runs
SET errors = CASE WHEN jsonb_typeof(errors) = 'array' THEN errors ELSE '[]'::jsonb END
             || %(errors)s,
    stats = stats || %(stats)s,
    status = coalesce(%(status)s, status),
    finished_at = CASE WHEN %(status)s::text IS NULL THEN finished_at
                       ELSE coalesce(finished_at, now()) END
WHERE id = %(id)s
"""
# The newest earlier run of the same crawl (spider and arguments, as JSON) that is over.
PREVIOUS_RUN = """
SELECT * FROM crawl_runs
WHERE spider = %(spider)s AND id < %(before)s AND status <> 'running'
  AND (%(args)s::jsonb IS NULL OR args = %(args)s::jsonb)
  AND (%(key)s::text IS NULL
       OR coalesce(args->>'query', args->>'section', '') || '|' || coalesce(args->>'job', '')
          = %(key)s::text)
ORDER BY id DESC
LIMIT 1
"""
SELECT_RUN = "SELECT * FROM crawl_runs WHERE id = %(id)s"
SELECT_RECENT_RUNS = "SELECT * FROM crawl_runs ORDER BY started_at DESC, id DESC LIMIT %(limit)s"
DATABASE_IDENTITY = "SELECT database_id::text || '/' || current_database() FROM sosik_database"


def start_run(
    conn: psycopg.Connection[Any],
    spider: str,
    args: Mapping[str, Any] | None = None,
    *,
    pid: int | None = None,
    host: str | None = None,
    process: str | None = None,
    resumed_from: int | None = None,
    resume_since: datetime | None = None,
) -> int:
    """Record a run as started ("running"), by whom; its id."""
    params = {
        "spider": spider,
        "args": _json(dict(args or {})),
        "pid": pid,
        "host": host,
        "process": process,
        "resumed_from": resumed_from,
        "resume_since": resume_since,
    }
    row = conn.execute(INSERT_RUN, params).fetchone()
    assert row is not None
    return int(row[0])


def heartbeat(
    conn: psycopg.Connection[Any],
    run_id: int,
    stats: Mapping[str, Any] | None = None,
    errors: Sequence[Any] | None = None,
) -> bool:
    """A running crawl says it is alive, with its stats and errors so far; False when the run
    is no longer `running` (another command decided it was killed)."""
    params = {
        "id": run_id,
        "stats": None if stats is None else _json(dict(stats)),
        "errors": None if errors is None else _json(list(errors)),
    }
    return conn.execute(HEARTBEAT, params).rowcount == 1


def finish_run(
    conn: psycopg.Connection[Any],
    run_id: int,
    status: str,
    stats: Mapping[str, Any] | None = None,
    errors: Sequence[Any] | None = None,
) -> None:
    """Record the end of a run. Raises LookupError for an unknown run id."""
    params = {
        "id": run_id,
        "status": status,
        "stats": _json(dict(stats or {})),
        "errors": _json(list(errors or [])),
    }
    cur = conn.execute(FINISH_RUN, params)
    if cur.rowcount != 1:
        raise LookupError(f"no crawl run {run_id}")


def running_runs(conn: psycopg.Connection[Any]) -> list[CrawlRun]:
    """Every run recorded as `running`, oldest first."""
    with conn.cursor(row_factory=class_row(CrawlRun)) as cur:
        return cur.execute(RUNNING_RUNS).fetchall()


def mark_killed(conn: psycopg.Connection[Any], run_id: int, reason: str) -> bool:
    """A run whose process is gone: `killed`, ended at its last heartbeat; False when it was
    no longer running."""
    params = {"id": run_id, "stats": _json({"failure": reason})}
    return conn.execute(MARK_KILLED, params).rowcount == 1


def add_to_run(
    conn: psycopg.Connection[Any],
    run_id: int,
    *,
    errors: Sequence[Any] = (),
    stats: Mapping[str, Any] | None = None,
    status: str | None = None,
) -> bool:
    """Append errors and stats to a run that is over (or set its status); False if unknown."""
    params = {
        "id": run_id,
        "errors": _json(list(errors)),
        "stats": _json(dict(stats or {})),
        "status": status,
    }
    return conn.execute(ADD_TO_RUN, params).rowcount == 1


def previous_run(
    conn: psycopg.Connection[Any],
    spider: str,
    before: int,
    *,
    args: Mapping[str, Any] | None = None,
    key: str | None = None,
) -> CrawlRun | None:
    """The newest run of `spider` before run `before` that is over: with exactly these `args`
    if given, and/or of the crawl `key` (`query or section|job`, see crawl_key)."""
    params = {
        "spider": spider,
        "before": before,
        "args": None if args is None else _json(dict(args)),
        "key": key,
    }
    with conn.cursor(row_factory=class_row(CrawlRun)) as cur:
        return cur.execute(PREVIOUS_RUN, params).fetchone()


def crawl_key(args: Mapping[str, Any]) -> str:
    """What PREVIOUS_RUN's `key` compares: the query (or section) and the scheduled job."""
    return f"{args.get('query') or args.get('section') or ''}|{args.get('job') or ''}"


def database_identity(conn: psycopg.Connection[Any]) -> str:
    """`<database id>/<database name>`: names the database a spill file belongs to."""
    row = conn.execute(DATABASE_IDENTITY).fetchone()
    assert row is not None
    return str(row[0])


def get_run(conn: psycopg.Connection[Any], run_id: int) -> CrawlRun | None:
    """One `crawl_runs` row by id; None when there is no such run."""
    with conn.cursor(row_factory=class_row(CrawlRun)) as cur:
        return cur.execute(SELECT_RUN, {"id": run_id}).fetchone()


def recent_runs(conn: psycopg.Connection[Any], limit: int = 20) -> list[CrawlRun]:
    """The latest runs, newest first."""
    with conn.cursor(row_factory=class_row(CrawlRun)) as cur:
        return cur.execute(SELECT_RECENT_RUNS, {"limit": limit}).fetchall()


def _json(value: Any) -> Jsonb:
    return Jsonb(value, dumps=_dumps)


def _dumps(value: Any) -> str:
    # Scrapy's stats hold datetimes (start_time, finish_time); str() keeps them readable.
    return json.dumps(value, ensure_ascii=False, default=_default)


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
