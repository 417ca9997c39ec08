"""`sosik runs [--limit N]` and `sosik runs show ID`: what the crawls did, from crawl_runs.

The list is one line per run, newest first: id, spider (and scheduled job), start, duration,
status, pages, stored, dropped, errors. `show` prints one run in full: its arguments, every
stat, the layout-drift alarms and each error with its URL. `--json` gives the same for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from crawler.arguments import flag_type, positive
from crawler.commands import CommandError
from crawler.domain.dates import KST
from crawler.extensions.progress import figures

COLUMNS = (
    "id",
    "spider/job",
    "started (KST)",
    "took",
    "status",
    "pages",
    "stored",
    "dropped",
    "errors",
)


def duration(run: Any, now: datetime | None = None) -> str:
    """`1m05s`, `3h02m`, or `running 2m` for a run that has not finished."""
    if run.finished_at is None:
        if run.status != "running":
            return "-"
        now = now or datetime.now(KST)
        return f"running {_span((now - run.started_at).total_seconds())}"
    return _span((run.finished_at - run.started_at).total_seconds())


def _span(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def who(run: Any) -> str:
    """The run's spider, with its scheduled job's name when it has one (`spider/job`)."""
    job = (run.args or {}).get("job")
    return f"{run.spider}/{job}" if job else run.spider


def error_count(run: Any) -> int:
    """Failures of a run: the pages and items its record names as failed (not the notes)."""
    from crawler.domain.outcomes import is_failure
    from crawler.runrecord import iter_errors

    stats = run.stats or {}
    counted = int(stats.get("fetch/error", 0)) + int(stats.get("parse/error", 0))
    named = sum(1 for kind, _, _ in iter_errors(run.errors) if is_failure(kind))
    return max(counted, named)


def run_row(run: Any, now: datetime | None = None) -> tuple[str, ...]:
    """A run's cells in `sosik runs`: id, who, start (KST), duration, status, pages, stored,
    dropped, errors.
    """
    f = figures(run.stats or {})
    return (
        str(run.id),
        who(run),
        f"{run.started_at.astimezone(KST):%Y-%m-%d %H:%M}",
        duration(run, now),
        run.status,
        str(f["pages"]),
        str(f["stored"]),
        str(f["dropped"]),
        str(error_count(run)),
    )


def format_runs(runs: list[Any], now: datetime | None = None) -> str:
    """The table of `sosik runs` (pure)."""
    if not runs:
        return "no crawl runs recorded yet\n"
    rows = [COLUMNS, *(run_row(r, now) for r in runs)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    numeric = {0, 5, 6, 7, 8}
    lines = []
    for r in rows:
        cells = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def format_run(run: Any, now: datetime | None = None) -> str:
    """One run in detail for `sosik runs show` (pure)."""
    stats = dict(run.stats or {})
    alarms = stats.pop("alarms", []) or []
    out = [f"run {run.id}: {who(run)}  {run.status}"]
    out.append(f"  started   {run.started_at.astimezone(KST):%Y-%m-%d %H:%M:%S %Z}")
    if run.finished_at is not None:
        out.append(f"  finished  {run.finished_at.astimezone(KST):%Y-%m-%d %H:%M:%S %Z}")
    out.append(f"  took      {duration(run, now)}")
    if run.args:
        args = " ".join(f"{k}={v}" for k, v in sorted(run.args.items()))
        out.append(f"  args      {args}")
    f = figures(stats)
    out.append(
        f"  pages {f['pages']}, stored {f['stored']}, dropped {f['dropped']}, "
        f"errors {error_count(run)}"
    )
    if alarms:
        out.append("\nalarms (layout drift):")
        out += [f"  {a}" for a in alarms]
    from crawler.domain.outcomes import is_failure
    from crawler.runrecord import iter_errors

    named = list(iter_errors(run.errors))
    for title, keep in (("errors", True), ("not stored, not failed", False)):
        rows = [e for e in named if is_failure(e[0]) == keep]
        if rows:
            out.append(f"\n{title} ({len(rows)}):")
            out += [f"  {kind}  {url}  {reason}" for kind, url, reason in rows]
    if stats:
        out.append("\nstats:")
        width = max(len(k) for k in stats)
        out += [f"  {k:<{width}}  {_value(v)}" for k, v in sorted(stats.items())]
    return "\n".join(out) + "\n"


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}".rstrip("0").rstrip(".")
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def as_json(run: Any) -> dict[str, Any]:
    """A run as JSON: its row's figures plus its arguments, stats and error list."""
    return {
        "id": run.id,
        "spider": run.spider,
        "job": (run.args or {}).get("job"),
        "args": run.args,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "status": run.status,
        **figures(run.stats or {}),
        "errors": error_count(run),
        "stats": run.stats,
        "error_list": run.errors,
    }


@contextmanager
def _schema_needed() -> Iterator[None]:
    """A database that was never migrated has no runs: say so in one line."""
    import psycopg

    try:
        yield
    except psycopg.errors.UndefinedTable:
        raise CommandError(
            "this database has no sosik schema yet (run `sosik db upgrade` or a crawl)"
        ) from None


# -- commands ----------------------------------------------------------------------------------
def add_parser(sub: Any) -> None:
    """`sosik runs`'s arguments."""
    p = sub.add_parser("runs", help="recent crawl runs; `runs show ID` for one in detail")
    p.add_argument(
        "--limit", "-n", type=flag_type(positive), default=20, help="how many runs (default 20)"
    )
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    p.set_defaults(func=list_runs)
    actions = p.add_subparsers(dest="runs_action", metavar="show")
    show = actions.add_parser("show", help="one run: stats, alarms, errors with URLs")
    show.add_argument("id", type=flag_type(positive))
    show.add_argument("--json", action="store_true", help="JSON instead of text")
    show.set_defaults(func=show_run)


def _reap(conn: Any) -> None:
    """Runs whose process is gone are `killed`, not `running` (unless a spill file here holds
    their end: `sosik db flush-spill` records it)."""
    from crawler.runrecord import reap_dead_runs
    from db.crawl_runs import database_identity
    from pipelines.spill import pending_runs, spill_dir

    reap_dead_runs(conn, skip=pending_runs(spill_dir(), database_identity(conn)))


def list_runs(args: argparse.Namespace) -> int:
    """Prints the recent runs (dead ones marked killed first) as a table or JSON lines."""
    from db.connection import connect
    from db.crawl_runs import recent_runs

    with connect() as conn, _schema_needed():
        _reap(conn)
        runs = recent_runs(conn, args.limit)
    if args.json:
        for r in runs:
            print(json.dumps(as_json(r), ensure_ascii=False))
    else:
        sys.stdout.write(format_runs(runs))
    return 0


def show_run(args: argparse.Namespace) -> int:
    """Prints one run in detail (dead ones marked killed first); CommandError for an unknown id."""
    from db.connection import connect
    from db.crawl_runs import get_run

    with connect() as conn, _schema_needed():
        _reap(conn)
        run = get_run(conn, args.id)
    if run is None:
        raise CommandError(f"no crawl run {args.id} (see `sosik runs`)")
    if args.json:
        print(json.dumps(as_json(run), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(format_run(run))
    return 0
