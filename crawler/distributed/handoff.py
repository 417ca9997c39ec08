"""The one place where the distributed frontier meets the run record and the store.

Everything else in crawler/distributed speaks only to Redis and to Scrapy. Here:

- a distributed job's run record: one `crawl_runs` row for the whole job, opened by
  `sosik enqueue` (`open_run`), written to by every worker's store under that id (the
  `SOSIK_RUN_ID` setting, which also keeps each worker's RunRecorder from closing it), and
  closed once by the worker that sees the job finish (`close_run`) with every worker's
  counts rolled up;
- durability before acknowledgement (`make_durable`): a request is acknowledged when Scrapy
  is done with it — its callback has run and each item it yielded has passed the item
  pipelines (item_scraped / item_dropped / item_error sent) — and then the items the store was
  handed must be durable, or a worker killed right after acknowledging would lose them.
  Today's StorePipeline buffers items (STORE_BATCH_SIZE, STORE_FLUSH_SECONDS), so this flushes
  that buffer; a store that makes items durable as it takes them makes this a no-op.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

RUN_ID_SETTING = "SOSIK_RUN_ID"


def run_settings(run_id: int) -> dict[str, Any]:
    """Settings a worker's crawler needs to write into the job's run record and leave it open."""
    return {RUN_ID_SETTING: run_id}


def open_run(database_url: str | None, spider: str, args: Mapping[str, Any]) -> int:
    """The job's run record, started ("running"); its id."""
    from db.connection import connect
    from db.crawl_runs import start_run

    with connect(database_url) as conn:
        return start_run(conn, spider, dict(args))


def close_run(
    database_url: str | None,
    run_id: int,
    status: str,
    stats: Mapping[str, Any],
    errors: Sequence[Mapping[str, Any]],
) -> None:
    """Finish the job's run record once, with the rolled-up stats and errors."""
    from db.connection import connect
    from db.crawl_runs import finish_run

    with connect(database_url) as conn:
        finish_run(conn, run_id, status, dict(stats), list(errors))


def get_run(database_url: str | None, run_id: int) -> Any:
    from db.connection import connect
    from db.crawl_runs import get_run as _get_run

    with connect(database_url) as conn:
        return _get_run(conn, run_id)


def make_durable(crawler: Any) -> None:
    """Make every item handed to the store so far durable (raises if it cannot)."""
    from pipelines.store import StorePipeline

    store = crawler.get_item_pipeline(StorePipeline)
    if store is None:
        return
    if getattr(store, "conn", None) is not None:
        store.flush()
    held = len(getattr(store, "articles", ())) + len(getattr(store, "hits", ()))
    if held:
        raise RuntimeError(f"the store still holds {held} unwritten items")


def assess(
    stats: Mapping[str, Any], n_errors: int, settings: Any
) -> tuple[str, list[str], str | None]:
    """The job's status from its rolled-up stats, as a single crawl's would be decided."""
    from crawler.runrecord import assess as _assess

    a = _assess(
        dict(stats),
        n_errors,
        "finished",
        settings.getfloat("SOSIK_DRIFT_MIN_SHARE", 0.8),
        settings.getint("SOSIK_DRIFT_MIN_ITEMS", 3),
    )
    return a.status, a.alarms, a.reason
