"""Outcome lists: what a run's status can be, which named pages are failures, and what
storing an item did: the one `Outcome` type the store, the run summary and `reparse` read.

The database gives the first six (db.statements decides them); `suspect` is a new text held
back because it is much shorter than the stored one; `rejected` is an item the store could not
write at all (the database refused it, or the validation limits did), named in the run record.
Each outcome knows the stats it is counted under and its line in the crawl's summary, so a new
outcome is added here and nowhere else.
"""

from __future__ import annotations

from enum import StrEnum

# The fields whose absence the layout-drift alarm counts (coverage per parser).
CORE_FIELDS = ("title", "body", "published_at", "publisher")
# A run's status and the exit code a crawl ends with.
EXIT_CODES = {"ok": 0, "errors": 1, "failed": 1, "killed": 1, "degraded": 2}
# Named in the run record but not failures: a page that is not an article is a fact about the
# site, a held text is kept (article_suspects), neither is lost.
NOTE_KINDS = frozenset({"not_article", "suspect"})


def is_failure(kind: str) -> bool:
    """A kind of named page that makes a run not `ok` (everything but the notes)."""
    return kind not in NOTE_KINDS


class Outcome(StrEnum):
    """What storing one item did (see the module); its stat keys and summary line come with it."""

    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DROPPED_URL = "dropped_url"
    DROPPED_HASH = "dropped_hash"
    DROPPED_HEADLINE = "dropped_headline"
    SUSPECT = "suspect"
    REJECTED = "rejected"

    @property
    def stats(self) -> tuple[str, ...]:
        """The Scrapy stats an item with this outcome increments."""
        return _STATS[self]

    @property
    def label(self) -> str:
        """Its line in the crawl summary and `sosik reparse`'s counts."""
        return _LABELS[self]

    @property
    def stored(self) -> bool:
        """True when the item's text is now an article's current text."""
        return self in (Outcome.INSERTED, Outcome.UPDATED)


# An unchanged re-fetch of a stored URL is also a URL duplicate: nothing of it is stored but
# its sighting (last_seen_at), so it is counted under both.
_STATS: dict[Outcome, tuple[str, ...]] = {
    Outcome.INSERTED: ("store/inserted",),
    Outcome.UPDATED: ("store/updated",),
    Outcome.UNCHANGED: ("store/unchanged", "dedupe/dropped_url"),
    Outcome.DROPPED_URL: ("dedupe/dropped_url",),
    Outcome.DROPPED_HASH: ("dedupe/dropped_hash",),
    Outcome.DROPPED_HEADLINE: ("dedupe/dropped_headline",),
    Outcome.SUSPECT: ("store/suspect",),
    Outcome.REJECTED: ("store/rejected",),
}
_LABELS: dict[Outcome, str] = {
    Outcome.INSERTED: "articles stored",
    Outcome.UPDATED: "articles updated",
    Outcome.UNCHANGED: "unchanged",
    Outcome.DROPPED_URL: "dropped: same URL",
    Outcome.DROPPED_HASH: "dropped: same content",
    Outcome.DROPPED_HEADLINE: "dropped: same headline",
    Outcome.SUSPECT: "held: much shorter text",
    Outcome.REJECTED: "rejected by the store",
}
