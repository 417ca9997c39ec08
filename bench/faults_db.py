"""The database and process faults at full size, as one table (tests/faults/database.py).

    .venv/bin/python bench/faults_db.py [--articles 1200] [--down 15] [--races 10]

Every scenario crawls the synthetic replay site (bench/_replay.py: `--articles` distinct
articles from the corpus pages) with the real `sosik crawl` into a database of a server this
script starts in a temp dir (an embedded one, and one from the system's `pg_ctl` on a free
port), injects its fault, and is counted on PostgreSQL afterwards: expected, stored, lost
(must be 0), stored twice (must be 0), failures named in the run records, final statuses.
The servers are stopped and their data removed at the end. Exit 1 when a row fails.
"""

from __future__ import annotations

import argparse
import sys
import time

import _common

from tests.faults import database as faults
from tests.faults.table import FaultRow, report


def rows(
    articles: int = 1200, stories: int | None = None, down: float = 15.0, races: int = 10
) -> list[FaultRow]:
    """The database and process fault rows (servers of their own, removed at the end)."""
    out: list[FaultRow] = []
    t0 = time.perf_counter()
    with faults.temp_root() as root:
        embedded = faults.EmbeddedServer(root / "embedded")
        local = faults.LocalServer(root / "local") if faults.local_server_available() else None
        try:
            with faults.replay_site(articles, stories=stories) as replay:
                print(
                    f"# replay site: {replay.articles:,} articles; built in "
                    f"{time.perf_counter() - t0:.1f}s",
                    flush=True,
                )
                for server in (embedded, local):
                    if server is not None:
                        out.append(
                            faults.outage(server, replay, root / f"o-{server.label}", down=down)
                        )
                out.append(faults.killed_sessions(embedded, replay, root / "terminate"))
                for then in ("flush-spill", "next run"):
                    out.append(
                        faults.down_to_end(embedded, replay, root / f"down-{then}", then=then)[0]
                    )
                out.append(faults.sigkill_then_again(embedded, replay, root / "sigkill")[0])
                out.append(faults.sigkill_then_scheduler(embedded, replay, root / "sched")[0])
            out.append(faults.bad_items(embedded, root / "bad")[0])
            with faults.replay_site(100, stories=34) as small:
                out.append(faults.fresh_database_race(embedded, small, root / "race", races, 1)[0])
        finally:
            embedded.close()
            if local is not None:
                local.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=1200, help="distinct articles of the site")
    ap.add_argument("--stories", type=int, default=None, help="texts behind them (default all)")
    ap.add_argument("--down", type=float, default=15.0, help="seconds the database is stopped")
    ap.add_argument("--races", type=int, default=10, help="rounds of two crawls on a fresh db")
    args = ap.parse_args()
    print(f"# bench/faults_db.py — {_common.machine()}")
    t0 = time.perf_counter()
    table = rows(args.articles, args.stories, args.down, args.races)
    ok = report(table, sys.stdout, time.perf_counter() - t0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
