"""Distributed fault scenarios as fault-table rows: a worker SIGKILLed mid-crawl, Redis
restarted mid-crawl, PostgreSQL stopped mid-crawl while a worker is SIGKILLed. Each runs `sosik enqueue` and worker processes against a replayed
synthetic site (tests/distributed/scenarios.py) with a Redis of its own and a fresh database,
and is counted on PostgreSQL and the job's run record afterwards.

    .venv/bin/python -m tests.faults.distributed [--articles 300]

`rows()` returns the rows for `make faults`; run as a script it prints the table and exits 1
when a row fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from crawler.domain.outcomes import is_failure
from crawler.runrecord import iter_errors
from tests.distributed.redisfix import RedisServer, has_redis_server, new_prefix
from tests.distributed.scenarios import Run, distributed_crawl
from tests.faults.table import FaultRow, print_table


def _row(fault: str, run: Run, affected: int, retried: int) -> FaultRow:
    named = [(kind, url) for kind, url, _ in iter_errors(run.run.get("errors")) if is_failure(kind)]
    return FaultRow(
        fault=fault,
        pages_affected=affected,
        retried=retried,
        expected=run.articles_expected,
        stored=run.stored,
        stored_twice=run.stored_twice,
        failures=len(named),
        named=sum(1 for _, url in named if url),
        notes=f"{run.notes}; {run.fetched_twice} pages fetched twice; {run.seconds:.1f}s",
        statuses=[run.run.get("status", "?")],
    )


def worker_sigkill(
    db_url: str, redis: RedisServer, logs: Path, articles: int = 60, workers: int = 3
) -> FaultRow:
    """One of `workers` SIGKILLed while it holds requests; its leases run out (3 s) and the
    others redo what it held."""
    run = distributed_crawl(
        db_url, redis.url, new_prefix(), logs, articles=articles, workers=workers,
        latency=0.15, fault="kill",
    )  # fmt: skip
    reclaimed = run.counts.get("reclaimed", 0)
    return _row(f"worker SIGKILLed mid-crawl (1 of {workers})", run, run.killed, reclaimed)


def redis_restart(
    db_url: str, redis: RedisServer, logs: Path, articles: int = 60, workers: int = 2
) -> FaultRow:
    """Redis stopped for 2 s at 30% of the crawl and started again on the same data."""
    run = distributed_crawl(
        db_url, redis.url, new_prefix(), logs, articles=articles, workers=workers,
        latency=0.05, fault="redis-restart", redis_server=redis,
        settings={"DISTRIBUTED_LEASE_SECONDS": "20"},
    )  # fmt: skip
    outages = int(run.run.get("stats", {}).get("distributed/redis_outages", 0))
    return _row("Redis restarted mid-crawl (down 2 s)", run, outages, outages)


def database_down_kill(
    db_url: str, redis: RedisServer, logs: Path, articles: int = 60, workers: int = 3
) -> FaultRow:
    """PostgreSQL stopped for 3 s at 30% of the crawl, and one worker SIGKILLed meanwhile:
    its finished requests were never acknowledged (their items were not durable), so the
    others redo them."""
    from tests.faults.database import EmbeddedServer, temp_root

    with temp_root() as root:
        database = EmbeddedServer(root / "pg")
        try:
            run = distributed_crawl(
                database.database("dist"), redis.url, new_prefix(), logs, articles=articles,
                workers=workers, latency=0.3, fault="db-down-kill", database=database,
                settings={"CONCURRENT_REQUESTS": "2"},
            )  # fmt: skip
        finally:
            database.close()
    retries = int(run.run.get("stats", {}).get("store/write_retries", 0))
    return _row(
        f"database down 3 s, a worker SIGKILLed meanwhile (1 of {workers})",
        run,
        run.killed,
        run.counts.get("reclaimed", 0) + retries,
    )


@contextmanager
def _world(tmp: Path) -> Iterator[tuple[str, RedisServer]]:
    """A fresh migrated database on the test server and a Redis of our own."""
    from db.connection import start_embedded, with_dbname
    from db.migrate import upgrade
    from tests.dbfixtures import drop_database, new_database, pgdata_for_tests

    server = start_embedded(pgdata_for_tests())
    name = new_database(server, "sosik_faults")
    assert name is not None
    url = with_dbname(server, name)
    redis = RedisServer(tmp / "redis").start()
    try:
        upgrade(url)
        yield url, redis
    finally:
        redis.stop()
        drop_database(server, name)


SCENARIOS: tuple[Callable[..., FaultRow], ...] = (worker_sigkill, redis_restart, database_down_kill)


def rows(articles: int = 60) -> list[FaultRow]:
    """One row per distributed fault, each on its own database and Redis."""
    if not has_redis_server():
        raise RuntimeError("redis-server is not on PATH")
    out = []
    for scenario in SCENARIOS:
        with tempfile.TemporaryDirectory(prefix="sosik-faults-") as d:
            with _world(Path(d)) as (db_url, redis):
                out.append(scenario(db_url, redis, Path(d) / "logs", articles=articles))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=60)
    args = ap.parse_args()
    table = rows(args.articles)
    ok = print_table(table, sys.stdout)
    for r in table:
        print(f"  {r.fault}: {r.notes}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
