"""The run record: every crawl is a `crawl_runs` row with its status, stats and errors.

Status: `ok`; `errors` (some pages failed to fetch or parse); `degraded` (the layout-drift
alarm: a parser whose items lack a core field too often, or search/list pages that parsed to
nothing although they were not empty); `failed` (nothing could be fetched at all, or the crawl
did not finish). A parser that starts failing on real pages must never look like a quiet day.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scrapy import signals

from crawler.dates import KST

logger = logging.getLogger(__name__)

CORE_FIELDS = ("title", "body", "published_at", "publisher")
EXIT_CODES = {"ok": 0, "errors": 1, "failed": 1, "degraded": 2}


@dataclass(slots=True)
class Assessment:
    status: str
    alarms: list[str] = field(default_factory=list)  # layout-drift alarms only
    reason: str | None = None  # why a run failed, when it did

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.status, 1)


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
    """The run's status from its stats (pure, so it is tested without a crawl)."""
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
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in stats.items()}


class RunRecorder:
    """Finishes the crawl's `crawl_runs` row when the spider closes (the store opened it)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        s = crawler.settings
        self.min_share = s.getfloat("SOSIK_DRIFT_MIN_SHARE", 0.8)
        self.min_items = s.getint("SOSIK_DRIFT_MIN_ITEMS", 3)
        self.owned = not s.getint("SOSIK_RUN_ID", 0)  # `crawl all` finishes its run itself
        self.assessment: Assessment | None = None
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):  # noqa: ANN001, ANN206
        return cls(crawler)

    def spider_closed(self, spider: Any, reason: str) -> None:
        stats = self.crawler.stats.get_stats()
        errors = list(getattr(spider, "errors", []))
        self.assessment = assess(stats, len(errors), reason, self.min_share, self.min_items)
        self.crawler.sosik_assessment = self.assessment
        for alarm in self.assessment.alarms:
            logger.error("LAYOUT DRIFT: %s", alarm)
        run_id = getattr(self.crawler, "sosik_run_id", None)
        if not self.owned or run_id is None:
            return
        from db.connection import connect
        from db.runs import finish_run

        with connect(self.crawler.settings.get("STORE_DATABASE_URL") or None) as conn:
            finish_run(
                conn,
                run_id,
                self.assessment.status,
                {
                    **json_stats(stats),
                    "alarms": self.assessment.alarms,
                    "failure": self.assessment.reason,
                    "finished_at": datetime.now(KST).isoformat(),
                },
                errors,
            )
