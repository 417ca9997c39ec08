"""The fault table: one row per injected fault, the figures `make faults` prints.

Every fault scenario (network faults on a replayed site, database outages, killed sessions,
killed processes, bad items) ends in a `FaultRow` counted on the database and the run record
afterwards, never guessed: what an undisturbed crawl would have stored, what was stored, what
was stored twice, and which failures the run record names with their URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO


@dataclass(slots=True)
class FaultRow:
    """What one injected fault did to one replayed crawl (counts from PostgreSQL)."""

    fault: str  # e.g. "5xx burst (3 per URL)", "database stopped 15 s at article 500"
    pages_affected: int  # fetches or writes the fault touched
    retried: int  # of those, how many were retried (fetch retries, write retries, spill writes)
    expected: int  # articles an undisturbed crawl stores, less those the fault makes unreadable
    stored: int  # articles in the database afterwards (distinct)
    stored_twice: int  # articles stored more than once (same canonical URL or same text)
    failures: int  # URLs the fault made fail for good: each must be named in the run record
    named: int  # of those failures, how many the run record names with their URL
    notes: str = ""
    statuses: list[str] = field(default_factory=list)  # the run records' final statuses

    @property
    def lost(self) -> int:
        """Articles that should be stored and are not (must be 0)."""
        return max(0, self.expected - self.stored)

    @property
    def passed(self) -> bool:
        """0 lost, 0 stored twice, every failure named, and no run with a failure says ok."""
        ok_with_failures = self.failures > 0 and "ok" in self.statuses
        return (
            self.lost == 0
            and self.stored_twice == 0
            and self.named == self.failures
            and not ok_with_failures
        )


COLUMNS = (
    "fault", "pages", "retried", "expected", "stored", "lost", "twice", "failed", "named",
    "status", "verdict",
)  # fmt: skip


def print_table(rows: Iterable[FaultRow], out: TextIO) -> bool:
    """Print the table; True when every row passed."""
    cells = [
        [
            r.fault,
            str(r.pages_affected),
            str(r.retried),
            str(r.expected),
            str(r.stored),
            str(r.lost),
            str(r.stored_twice),
            str(r.failures),
            f"{r.named}/{r.failures}",
            ",".join(r.statuses) or "-",
            "ok" if r.passed else "FAIL",
        ]
        for r in rows
    ]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(COLUMNS)]
    out.write("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)) + "\n")
    for row in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + "\n")
    return all(row[-1] == "ok" for row in cells)


def report(rows: list[FaultRow], out: TextIO, seconds: float | None = None) -> bool:
    """What every fault script prints: the table, each row's notes, and (given the run's
    seconds) the verdict line; True when every row passed."""
    out.write("\n")
    ok = print_table(rows, out)
    out.write("\n")
    for r in rows:
        if r.notes:
            out.write(f"- {r.fault}: {r.notes}\n")
    if seconds is not None:
        verdict = "all passed" if ok else "FAILED"
        out.write(f"\n{len(rows)} faults in {seconds:.0f}s: {verdict}\n")
    return ok
