"""`make faults`: every fault the crawler is proven against, in one table.

    .venv/bin/python bench/faults.py [--quick] [--skip network,database,distributed]

- network: each fault of the fault-injecting replay (5xx bursts, resets, timeouts, 429 with
  Retry-After, cut and empty answers, wrong charset labels both ways, redirect loops, 50 MB
  pages, binary garbage, 100k nested elements) on its own replayed crawl (tests/faults/network.py);
- database and process: the database stopped mid-crawl (an embedded server and a `pg_ctl` one),
  the store's sessions killed, the database down to the end then `flush-spill` or the next run,
  SIGKILL then the same command or the scheduler's job, bad items, two crawls racing on a fresh
  database (bench/faults_db.py, tests/faults/database.py);
- distributed: a worker SIGKILLed, Redis restarted (tests/faults/distributed.py).

Each row is counted on PostgreSQL and the run records afterwards (tests/faults/table.py):
lost and stored twice must be 0, every failure named. Exit 1 when a row fails. The CI-sized
versions of the same scenarios run in `make test`. `--quick` makes every site smaller.
"""

from __future__ import annotations

import argparse
import sys
import time

import _common
import faults_db

from tests.faults import distributed, network
from tests.faults.table import FaultRow, report

GROUPS = ("network", "database", "distributed")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sites (minutes, not tens)")
    ap.add_argument("--skip", default="", help=f"comma-separated groups to leave out: {GROUPS}")
    args = ap.parse_args()
    skip = {g for g in args.skip.split(",") if g}
    if skip - set(GROUPS):
        ap.error(f"--skip: unknown group(s) {sorted(skip - set(GROUPS))}; one of {GROUPS}")
    print(f"# bench/faults.py — {_common.machine()}", flush=True)
    t0 = time.perf_counter()
    table: list[FaultRow] = []
    if "network" not in skip:
        table += network.rows(full=True, articles=100 if args.quick else 300)
    if "database" not in skip:
        if args.quick:
            table += faults_db.rows(articles=300, down=6.0, races=2)
        else:
            table += faults_db.rows()
    if "distributed" not in skip:
        table += distributed.rows(60 if args.quick else 300)
    ok = report(table, sys.stdout, time.perf_counter() - t0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
