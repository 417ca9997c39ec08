"""The run record: every crawl is a `crawl_runs` row with its status, stats and named pages.

Status: `ok`; `errors` (some pages failed to fetch or parse, or items could not be stored: a
run that lost anything is never `ok`); `degraded` (the layout-drift alarm: a parser whose items
lack a core field too often, or search/list pages that parsed to nothing although they were not
empty); `failed` (nothing could be fetched at all, or the crawl did not finish); `killed` (the
crawl's process died without closing its run: found by the next command). A parser that starts
failing on real pages must never look like a quiet day.

Every failed URL is kept, in a compact form rather than up to a limit: one group per (kind,
reason) with its URLs (`RunRecord`), so 300 URLs answering 500 are one reason and 300 URLs.
Pages that are not articles (a gallery, a deleted page) and texts held as suspect are named the
same way, as notes: they are not failures.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.domain.outcomes import CORE_FIELDS, EXIT_CODES, is_failure

logger = logging.getLogger(__name__)

MAX_REASON = 300  # characters of a reason kept (a reason is stored once per group)
# A running crawl on another host that has not said it is alive for this long is killed.
STALE_AFTER = 300.0


@dataclass(slots=True)
class Assessment:
    """A run's verdict: its status (ok, errors, failed, degraded), drift alarms and, for a failed
    run, why.
    """

    status: str
    alarms: list[str] = field(default_factory=list)  # layout-drift alarms only
    reason: str | None = None  # why a run failed, when it did

    @property
    def exit_code(self) -> int:
        """The exit code of `status` (EXIT_CODES; 1 for an unknown one)."""
        return EXIT_CODES.get(self.status, 1)


class RunRecord:
    """The pages a run names, compact: one group per (kind, reason), its URLs in order.

    Nothing is dropped: the record grows by one URL per named page, the reason is kept once
    per group (a run where 10,000 pages answered 503 holds one reason and 10,000 URLs).
    """

    def __init__(self) -> None:
        self._groups: dict[tuple[str, str], list[str]] = {}
        self.failures = 0
        self.notes = 0

    def add(self, kind: str, url: str, reason: str) -> None:
        """Names a page under (kind, reason), the reason on one line and cut to MAX_REASON
        characters; counted as a failure or a note by its kind.
        """
        reason = " ".join(str(reason).split())[:MAX_REASON]
        self._groups.setdefault((kind, reason), []).append(url)
        if is_failure(kind):
            self.failures += 1
        else:
            self.notes += 1

    def extend(self, entries: Iterable[tuple[str, str, str]]) -> None:
        """Adds several (kind, url, reason) entries, as `add` does."""
        for kind, url, reason in entries:
            self.add(kind, url, reason)

    def __iter__(self) -> Iterator[tuple[str, str, str]]:
        for (kind, reason), urls in self._groups.items():
            for url in urls:
                yield kind, url, reason

    def to_json(self) -> list[dict[str, Any]]:
        """The compact form stored in `crawl_runs.errors`."""
        return [
            {"kind": kind, "reason": reason, "urls": list(urls)}
            for (kind, reason), urls in self._groups.items()
        ]


def iter_errors(errors: Iterable[Any] | None) -> Iterator[tuple[str, str, str]]:
    """(kind, url, reason) of every page a stored run names, compact groups or the older one
    entry per page (`{"kind", "url", "reason"}`)."""
    for e in errors or ():
        if not isinstance(e, dict):
            continue
        if "urls" in e:
            for url in e.get("urls") or ():
                yield str(e.get("kind", "?")), str(url), str(e.get("reason", ""))
        else:
            yield (
                str(e.get("kind", "?")),
                str(e.get("url", "?")),
                str(e.get("reason", e.get("error", ""))),
            )


def coverage(stats: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per parser, the share of its items that carried each core field."""
    out: dict[str, dict[str, float]] = {}
    for key, n in stats.items():
        if key.startswith("coverage/") and key.endswith("/items") and n:
            parser = key[len("coverage/") : -len("/items")]
            out[parser] = {f: stats.get(f"coverage/{parser}/{f}", 0) / n for f in CORE_FIELDS}
    return out


def assess(
    stats: dict[str, Any],
    n_errors: int,
    finish_reason: str | None,
    min_share: float = 0.8,
    min_items: int = 3,
) -> Assessment:
    """The run's status from its stats and its number of failures (pure, tested without a
    crawl). Any failure (a page, an item not stored) makes the run at best `errors`."""
    alarms = []
    for parser, shares in sorted(coverage(stats).items()):
        if stats.get(f"coverage/{parser}/items", 0) < min_items:
            continue
        for f, share in shares.items():
            if share < min_share:
                alarms.append(
                    f"parser {parser}: {f} present in {share:.0%} of items "
                    f"(threshold {min_share:.0%})"
                )
    for kind in ("search", "list"):
        empty = stats.get(f"drift/{kind}_empty", 0)
        if empty:
            alarms.append(f"{empty} {kind} page(s) parsed to zero results although not empty")
    mismatched = stats.get("drift/search_crosscheck", 0)
    if mismatched:
        alarms.append(
            f"{mismatched} search page(s) read differently from their markup and their data"
        )
    fetched = stats.get("downloader/response_count", 0)
    if alarms:
        return Assessment("degraded", alarms)
    if finish_reason not in (None, "finished") or (fetched == 0 and n_errors):
        if finish_reason not in (None, "finished"):
            return Assessment("failed", reason=f"the crawl ended early ({finish_reason})")
        return Assessment("failed", reason="nothing could be fetched")
    if n_errors:
        return Assessment("errors")
    return Assessment("ok")


def json_stats(stats: dict[str, Any]) -> dict[str, Any]:
    """The stats made JSON-ready: datetimes (Scrapy's start and finish times) as ISO 8601."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in stats.items()}


# -- who runs a crawl, and whether it still does ---------------------------------------------
def this_host() -> str:
    """This host's name, stored with a running crawl: on this host its pid tells whether it still
    runs, elsewhere its heartbeat (see is_dead).
    """
    return socket.gethostname()


def process_identity(pid: int | None = None) -> str | None:
    """`<boot id>:<start time>` of a process (Linux): a pid reused after a reboot or by another
    process has another identity. None where /proc does not say."""
    pid = pid or os.getpid()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return f"{boot}:{fields[19]}"  # field 22 of proc(5), counted from the state field (3)


def is_dead(run: Any, now: float | None = None, stale_after: float = STALE_AFTER) -> str | None:
    """Why a `running` run's process is gone, or None while it may still run.

    On this host: its pid is gone or now another process (identity). Elsewhere (or a run that
    recorded no pid): no heartbeat for `stale_after` seconds.
    """
    if run.pid and run.host == this_host():
        if run.process is not None:
            if process_identity(run.pid) != run.process:
                return f"process {run.pid} on {run.host} is gone"
            return None
        try:
            os.kill(run.pid, 0)
        except ProcessLookupError:
            return f"process {run.pid} on {run.host} is gone"
        except PermissionError:
            pass
        return None
    beat = run.heartbeat_at or run.started_at
    now = now if now is not None else time.time()
    if now - beat.timestamp() > stale_after:
        where = f"on {run.host} " if run.host else ""
        return f"no heartbeat {where}for {int(now - beat.timestamp())}s"
    return None


def reap_dead_runs(
    conn: Any, skip: Iterable[int] = (), stale_after: float = STALE_AFTER
) -> list[int]:
    """Mark `killed` every running run whose process is gone; their ids.

    `skip`: runs whose end waits in a spill file on this host (`sosik db flush-spill` records
    it). A killed run keeps the stats and errors of its last heartbeat.
    """
    from db.crawl_runs import mark_killed, running_runs

    skipped = set(skip)
    killed = []
    for run in running_runs(conn):
        if run.id in skipped:
            continue
        why = is_dead(run, stale_after=stale_after)
        if why and mark_killed(conn, run.id, f"killed: {why}"):
            logger.warning("crawl run %s (%s) was killed: %s", run.id, run.spider, why)
            killed.append(run.id)
    return killed
