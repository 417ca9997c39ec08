"""The one place where the distributed frontier meets the run record and the store.

Everything else in crawler/distributed speaks only to Redis and to Scrapy. Here:

- a distributed job's run record: one `crawl_runs` row for the whole job, opened by
  `sosik enqueue` (`open_run`), written to by every worker's store under that id (the
  `SOSIK_RUN_ID` setting, which also keeps each worker's DatabaseOwner from closing it), and
  closed once by the worker that sees the job finish (`close_run`) with every worker's
  counts and named pages rolled up, its status decided as a single crawl's (`assess`);
- durability before acknowledgement (`Durability`): a request is acknowledged when Scrapy is
  done with it (its callback has run and each item it yielded has passed the item pipelines)
  and the store's watermark (pipelines/store.py) says every item it had been handed by then
  is committed to PostgreSQL (or finally refused, and named). Items in a spill file are not
  durable: they are on one host's disk, and the request is done again elsewhere;
- the worker's named pages (`ErrorFeed`): what its RunContext's record names (URL, kind,
  reason), sent to the job once each, with the acknowledgements.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
    """The job's `crawl_runs` row in the database at `database_url`; None when there is none."""
    from db.connection import connect
    from db.crawl_runs import get_run as _get_run

    with connect(database_url) as conn:
        return _get_run(conn, run_id)


def assess(stats: Mapping[str, Any], failures: int, settings: Any) -> Any:
    """The job's Assessment from its rolled-up stats and failures, as a single crawl's."""
    from crawler.runrecord import assess as _assess

    return _assess(
        dict(stats),
        failures,
        "finished",
        settings.getfloat("SOSIK_DRIFT_MIN_SHARE", 0.8),
        settings.getint("SOSIK_DRIFT_MIN_ITEMS", 3),
    )


def at_close(crawler: Any, fn: Callable[[], Awaitable[None]]) -> None:
    """Run `fn` at spider_closed after every component named what it lost, before the
    worker's DatabaseOwner lets go of the database."""
    from crawler.extensions.owner import DatabaseOwner

    DatabaseOwner.of(crawler).on_close(fn)


class Durability:
    """The crawler's store, seen from the acknowledgements: how many items it was handed, up
    to which one they are durable. A crawler without the store has nothing to wait for."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.store: Any = None

    def open(self) -> None:
        """Finds the crawler's StorePipeline (None when it has none: nothing to wait for)."""
        from pipelines.store import StorePipeline

        self.store = self.crawler.get_item_pipeline(StorePipeline)

    def handed(self) -> int:
        """Items handed to the store so far (0 without a store)."""
        return self.store.watermark.handed if self.store is not None else 0

    def durable(self) -> int:
        """Every item numbered up to this one is committed or finally refused (0 without a store)."""
        return self.store.watermark.durable if self.store is not None else 0

    def settling(self) -> bool:
        """The store holds items in memory that are not settled yet (they will be)."""
        return self.store is not None and self.store.unsettled_in_memory() > 0

    def write_soon(self) -> None:
        """Asks the store to write its buffer now rather than at the next flush."""
        if self.store is not None:
            self.store.write_soon()


class ErrorFeed:
    """The pages this worker's run record names, each sent to the job's list once."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self._sent: dict[tuple[str, str], int] = {}

    def into(self, pipe: Any, key: str) -> dict[tuple[str, str], int]:
        """Queue the entries named since the last `sent` into `pipe` (RPUSH to `key`); what
        `sent` must be told once the transaction went through."""
        from crawler.extensions.owner import run_context

        ctx = run_context(self.crawler)
        if ctx is None:
            return {}
        counts, new = {}, []
        for group in ctx.record.to_json():
            kind, reason, urls = group["kind"], group["reason"], group["urls"]
            done = self._sent.get((kind, reason), 0)
            counts[(kind, reason)] = len(urls)
            new += [
                json.dumps({"kind": kind, "url": url, "reason": reason}, ensure_ascii=False)
                for url in urls[done:]
            ]
        if new:
            pipe.rpush(key, *new)
        return counts

    def sent(self, counts: dict[tuple[str, str], int]) -> None:
        """Remembers how many URLs of each (kind, reason) went to the job's list, once its
        transaction went through.
        """
        self._sent.update(counts)
