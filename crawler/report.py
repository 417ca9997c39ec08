"""The end of a crawl as an operator sees it: one status, one table, one exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TextIO

from crawler.progress import pages_fetched
from crawler.runs import EXIT_CODES, assess, json_stats

SEVERITY = {"ok": 0, "errors": 1, "failed": 2, "degraded": 3}

SUMMARY_ROWS = (
    ("pages fetched", "downloader/response_count"),
    ("search pages", "pages/search"),
    ("article pages", "pages/article"),
    ("list pages", "pages/list"),
    ("search hits", "items/search_hits"),
    ("articles stored", "store/inserted"),
    ("articles updated", "store/updated"),
    ("unchanged", "store/unchanged"),
    ("dropped: same URL", "dedupe/dropped_url"),
    ("dropped: same content", "dedupe/dropped_hash"),
    ("dropped: same headline", "dedupe/dropped_headline"),
    ("not an article", "parse/not_article"),
    ("parse errors", "parse/error"),
    ("fetch errors", "fetch/error"),
)


@dataclass(slots=True)
class Outcome:
    status: str
    stats: dict[str, Any]
    errors: list[dict[str, str]] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)
    spiders: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why the run failed, if it did

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.status, 1)


def merge_outcome(crawlers: list[Any]) -> Outcome:
    """One outcome for the crawlers of one run: counters summed, the worst status wins."""
    total: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    alarms: list[str] = []
    reasons: list[str] = []
    status = "ok"
    names = []
    for crawler in crawlers:
        stats = crawler.stats.get_stats() if crawler.stats else {}
        for k, v in stats.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                total[k] = total.get(k, 0) + v
            else:
                total.setdefault(k, v)
        spider = crawler.spider
        names.append(spider.name if spider else "?")
        errors.extend(getattr(spider, "errors", []))
        a = getattr(crawler, "sosik_assessment", None)
        if a is None:  # the crawl never opened (bad arguments, engine failure)
            a = assess(stats, len(getattr(spider, "errors", [])) or 1, stats.get("finish_reason"))
        alarms.extend(a.alarms)
        if a.reason:
            reasons.append(f"{names[-1]}: {a.reason}")
        if SEVERITY[a.status] > SEVERITY[status]:
            status = a.status
    return Outcome(status, json_stats(total), errors, alarms, names, reasons)


def print_summary(outcome: Outcome, out: TextIO) -> None:
    stats = outcome.stats
    width = max(len(label) for label, _ in SUMMARY_ROWS)
    out.write(f"\nsosik crawl {'+'.join(outcome.spiders)}: {outcome.status}\n")
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
    for alarm in outcome.alarms:
        out.write(f"  DEGRADED: {alarm}\n")
    for reason in outcome.reasons:
        out.write(f"  FAILED: {reason}\n")
    for err in outcome.errors[:10]:
        out.write(f"  {err['kind']} error: {err['url']}: {err['reason']}\n")
    if len(outcome.errors) > 10:
        out.write(f"  … and {len(outcome.errors) - 10} more errors (sosik runs show)\n")
