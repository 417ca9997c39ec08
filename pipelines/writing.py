"""One write of the store: search hits then articles, a bad item refused alone, outages raised.

`write` runs on a database thread (never the reactor) with a connection from the crawl's pool.
It tells two kinds of failure apart:

- the database is unreachable or the session died (`is_transient`): nothing of the write is
  committed; the error is raised and the caller keeps the items, retries through a fresh
  connection, and spills them to a file when the database stays down;
- the database refuses an item (a value too long for an index, an invalid byte, a constraint):
  the batch is split in halves and each half written again, down to the single item at fault,
  which comes back `rejected` with the database's message. Every other item is stored, and the
  outcomes are those of storing the items in order (halves keep the batch's order).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from crawler.domain.items import ArticleItem, SearchHit
from db.batch import store_articles
from db.hits import store_search_hits
from db.rows import StoreResult

logger = logging.getLogger(__name__)

# SQLSTATEs after which the same write may succeed on a fresh session: the connection or the
# server went away (class 08, admin/crash shutdown, cannot connect now, too many connections),
# a deadlock or serialization failure, a lock or statement timeout.
TRANSIENT_STATES = frozenset(
    {"57P01", "57P02", "57P03", "53300", "40001", "40P01", "55P03", "57014"}
)


def is_transient(exc: BaseException) -> bool:
    """True when the write failed because of the database's state, not the items'."""
    try:
        from psycopg_pool import PoolTimeout
    except ImportError:  # pragma: no cover - psycopg_pool is a dependency
        PoolTimeout = ()  # type: ignore[assignment]
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, psycopg.Error):
        return False
    state = exc.sqlstate
    if state is None:  # no answer from the server at all: the connection failed
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
    return state.startswith("08") or state in TRANSIENT_STATES


@dataclass(slots=True)
class Refused:
    """An item the database would not take, and why (its message, one line)."""

    item: Any
    reason: str


@dataclass(slots=True)
class Written:
    """What one write did: a result per article (in order), the hits stored, the refused."""

    articles: list[tuple[ArticleItem, StoreResult]] = field(default_factory=list)
    hits: int = 0
    refused: list[Refused] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """The store's settings that change outcomes (STORE_CLUSTER_*, STORE_SUSPECT_RATIO)."""

    crawl_run_id: int | None = None
    cluster_distance: int = 3
    cluster_window_days: float = 3
    suspect_ratio: float = 0.5


def write(
    conn: psycopg.Connection[Any],
    articles: Sequence[ArticleItem],
    hits: Sequence[SearchHit],
    options: StoreOptions,
) -> Written:
    """Store hits, then articles (so that articles link to their hits as they land).

    Raises only when the database is unreachable (`is_transient`) or on a bug outside the
    database; a refused item is returned in `refused`, everything else is stored.
    """
    out = Written()
    _hits(conn, list(hits), options, out)
    _articles(conn, list(articles), options, out)
    return out


def _hits(
    conn: psycopg.Connection[Any], hits: list[SearchHit], options: StoreOptions, out: Written
) -> None:
    def store(part: list[SearchHit]) -> None:
        store_search_hits(conn, part, options.crawl_run_id)
        out.hits += len(part)

    _refusing_alone(store, hits, out)


def _articles(
    conn: psycopg.Connection[Any], items: list[ArticleItem], options: StoreOptions, out: Written
) -> None:
    def store(part: list[ArticleItem]) -> None:
        results = store_articles(
            conn,
            part,
            crawl_run_id=options.crawl_run_id,
            cluster_distance=options.cluster_distance,
            cluster_window_days=options.cluster_window_days,
            suspect_ratio=options.suspect_ratio,
        )
        out.articles.extend(zip(part, results, strict=True))

    _refusing_alone(store, items, out)


def _refusing_alone(store: Callable[[list[Any]], None], items: list[Any], out: Written) -> None:
    """`store(items)`; when the database refuses (not an outage: that is raised), the halves
    are stored again, in order, down to the single item at fault, which goes to `out.refused`.
    A part's results are recorded by `store` only when its statement succeeded."""
    if not items:
        return
    try:
        store(items)
    except psycopg.Error as exc:
        if is_transient(exc):
            raise
        if len(items) == 1:
            logger.warning("the database refused %s: %s", items[0].url, one_line(exc))
            out.refused.append(Refused(items[0], one_line(exc)))
            return
        mid = len(items) // 2
        _refusing_alone(store, items[:mid], out)
        _refusing_alone(store, items[mid:], out)


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type's name and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip().rstrip(":")
