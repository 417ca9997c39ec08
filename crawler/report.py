"""The end of a crawl as an operator sees it: one status, one table, one exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TextIO

from crawler.domain.outcomes import EXIT_CODES, Outcome, is_failure
from crawler.extensions.progress import pages_fetched
from crawler.runrecord import RunRecord, assess, json_stats

SEVERITY = {"ok": 0, "errors": 1, "failed": 2, "killed": 2, "degraded": 3}

PAGE_ROWS = (
    ("pages fetched", "downloader/response_count"),
    ("search pages", "pages/search"),
    ("article pages", "pages/article"),
    ("list pages", "pages/list"),
    ("search hits", "items/search_hits"),
)
# What the store did: one line per Outcome, from the Outcome itself.
STORE_ROWS = tuple((o.label, o.stats[0]) for o in Outcome)
OTHER_ROWS = (
    ("rejected before the store", "validate/rejected"),
    ("already stored (resumed)", "resume/skipped"),
    ("spilled to disk", "store/spilled"),
    ("written back from disk", "store/spill_written_back"),
    ("not an article", "parse/not_article"),
    ("parse errors", "parse/error"),
    ("fetch errors", "fetch/error"),
)
SUMMARY_ROWS = (*PAGE_ROWS, *STORE_ROWS, *OTHER_ROWS)
SHOWN_FAILURES = 10


@dataclass(slots=True)
class RunSummary:
    """One run's end, merged over its crawlers (`sosik crawl all` runs three)."""

    status: str
    stats: dict[str, Any]
    record: RunRecord = field(default_factory=RunRecord)
    alarms: list[str] = field(default_factory=list)
    spiders: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why the run failed, if it did
    run_ids: list[int] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """The exit code of `status` (EXIT_CODES; 1 for an unknown one)."""
        return EXIT_CODES.get(self.status, 1)

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The run record's named pages, compact (what `crawl_runs.errors` stores)."""
        return self.record.to_json()

    def failures(self) -> list[tuple[str, str, str]]:
        """The named pages that are failures (kind, URL, reason); notes such as not_article left
        out.
        """
        return [e for e in self.record if is_failure(e[0])]


def merge_runs(crawlers: list[Any]) -> RunSummary:
    """One summary for the crawlers of one run: counters summed, the worst status wins."""
    from crawler.extensions.owner import run_context

    total: dict[str, Any] = {}
    record = RunRecord()
    alarms: list[str] = []
    reasons: list[str] = []
    status = "ok"
    names = []
    run_ids = []
    for crawler in crawlers:
        stats = crawler.stats.get_stats() if crawler.stats else {}
        for k, v in stats.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                total[k] = total.get(k, 0) + v
            else:
                total.setdefault(k, v)
        spider = crawler.spider
        names.append(spider.name if spider else "?")
        ctx = run_context(crawler)
        if ctx is not None:
            record.extend(ctx.record)
            if ctx.run_id is not None and ctx.run_id not in run_ids:
                run_ids.append(ctx.run_id)
        a = ctx.assessment if ctx is not None else None
        if a is None:  # the crawl never opened (bad arguments, engine failure)
            failures = ctx.record.failures if ctx is not None else 0
            a = assess(stats, failures or 1, stats.get("finish_reason"))
        alarms.extend(a.alarms)
        if a.reason:
            reasons.append(f"{names[-1]}: {a.reason}")
        if SEVERITY[a.status] > SEVERITY[status]:
            status = a.status
    return RunSummary(status, json_stats(total), record, alarms, names, reasons, run_ids)


def print_summary(summary: RunSummary, out: TextIO) -> None:
    """Prints the crawl's summary: status and run ids, page and store counts, time and pages/s,
    alarms, failure reasons, items still on disk and the first SHOWN_FAILURES failures with their
    URLs.
    """
    stats = summary.stats
    width = max(len(label) for label, _ in SUMMARY_ROWS)
    runs = ", ".join(f"run {i}" for i in summary.run_ids)
    out.write(
        f"\nsosik crawl {'+'.join(summary.spiders)}: {summary.status}"
        + (f" ({runs})" if runs else "")
        + "\n"
    )
    for label, key in SUMMARY_ROWS:
        v = pages_fetched(stats) if key == "downloader/response_count" else stats.get(key, 0)
        if v or key in ("downloader/response_count", "store/inserted"):
            out.write(f"  {label:<{width}}  {v}\n")
    elapsed = stats.get("elapsed_time_seconds")
    if elapsed:
        out.write(
            f"  {'time':<{width}}  {elapsed:.1f}s "
            f"({pages_fetched(stats) / max(elapsed, 1e-9):.1f} pages/s)\n"
        )
    for alarm in summary.alarms:
        out.write(f"  DEGRADED: {alarm}\n")
    for reason in summary.reasons:
        out.write(f"  FAILED: {reason}\n")
    pending = stats.get("store/spilled_pending", 0)
    if pending:
        out.write(
            f"  NOT STORED YET: {pending} items kept on disk while the database was down; "
            "`sosik db flush-spill` (or the next crawl) writes them back\n"
        )
    failures = summary.failures()
    for kind, url, reason in failures[:SHOWN_FAILURES]:
        out.write(f"  {kind} error: {url}: {reason}\n")
    if len(failures) > SHOWN_FAILURES:
        where = f"sosik runs show {summary.run_ids[0]}" if summary.run_ids else "sosik runs show"
        out.write(f"  … and {len(failures) - SHOWN_FAILURES} more errors ({where})\n")
