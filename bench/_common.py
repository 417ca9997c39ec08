"""What the bench scripts share: tables, the machine line, timing, a throwaway database.

Every figure a bench prints is a ratio against a reference measured in the same run (the
machines this runs on are shared and noisy), or an absolute figure printed next to one.
"""

from __future__ import annotations

import os
import platform
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/x.py` from a checkout without an install
    sys.path.insert(0, str(REPO))


def machine() -> str:
    """One line: CPU model and count, memory, Python; printed above every table."""
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores, {mem} RAM, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def versions(*names: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for n in names:
        try:
            out.append(f"{n} {version(n)}")
        except PackageNotFoundError:
            out.append(f"{n} (not installed)")
    return ", ".join(out)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> str:
    """A GitHub-markdown table (readable in a terminal, pasteable into the docs)."""
    cells = [[_fmt(c) for c in r] for r in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    num = [all(_numeric(r[i]) for r in cells) and bool(cells) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, num, strict=True)
        ]
        return "| " + " | ".join(parts) + " |"

    sep = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if n else ("-" * (w + 2))
            for w, n in zip(widths, num, strict=True)
        )
        + "|"
    )
    out = [f"\n{title}\n" if title else "\n", line(headers), sep, *(line(r) for r in cells)]
    return "\n".join(x for x in out if x != "")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if v != v:  # NaN
            return "n/a"
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return "" if v is None else str(v)


def _numeric(s: str) -> bool:
    t = s.replace(",", "").replace("×", "").replace("%", "").strip()
    if t in ("", "n/a"):
        return True
    try:
        float(t)
    except ValueError:
        return False
    return True


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def min_cpu(fn: Callable[[], Any], n: int) -> float:
    """The smallest CPU time (process_time) of `n` calls: the least disturbed measurement."""
    best = float("inf")
    clock = time.process_time
    for _ in range(n):
        t = clock()
        fn()
        best = min(best, clock() - t)
    return best


# -- a throwaway database ---------------------------------------------------------------------
def server_url() -> str:
    """The server to create the bench database on: DATABASE_URL's, else the embedded one."""
    from db.connection import sosik_home, start_embedded

    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return start_embedded(sosik_home() / "pg", tune=True)  # as `sosik` runs it


@contextmanager
def throwaway_database(prefix: str = "sosik_bench") -> Iterator[str]:
    """A new database migrated to head; dropped afterwards, whatever happens."""
    import signal
    import threading

    from psycopg import sql

    from db.connection import connect, with_dbname
    from db.migrate import upgrade

    if threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            # a plain kill must still drop the database: make it an exception
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    server = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with connect(server) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_dbname(server, name)
    try:
        upgrade(url)
        yield url
    finally:
        with connect(server) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
