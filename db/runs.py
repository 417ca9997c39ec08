"""Crawl runs: one row per spider run, with its arguments, final stats and errors.

`start_run` before the spider starts, `finish_run` when it closes (Scrapy's finish reason as
the status: "finished", "shutdown", "closespider_timeout", ...). Stats are stored as JSON;
datetimes and other non-JSON values in Scrapy's stats are written as strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from db.rows import CrawlRun

__all__ = ["CrawlRun", "finish_run", "get_run", "recent_runs", "start_run"]

INSERT_RUN = """
INSERT INTO crawl_runs (spider, args) VALUES (%(spider)s, %(args)s)
RETURNING id
"""
FINISH_RUN = """
UPDATE crawl_runs
SET finished_at = now(), status = %(status)s, stats = %(stats)s, errors = %(errors)s
WHERE id = %(id)s
"""
SELECT_RUN = "SELECT * FROM crawl_runs WHERE id = %(id)s"
SELECT_RECENT_RUNS = "SELECT * FROM crawl_runs ORDER BY started_at DESC, id DESC LIMIT %(limit)s"


def start_run(
    conn: psycopg.Connection[Any], spider: str, args: Mapping[str, Any] | None = None
) -> int:
    """Record a run as started ("running"); its id."""
    row = conn.execute(INSERT_RUN, {"spider": spider, "args": _json(dict(args or {}))}).fetchone()
    assert row is not None
    return int(row[0])


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


def get_run(conn: psycopg.Connection[Any], run_id: int) -> CrawlRun | None:
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
