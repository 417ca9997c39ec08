"""The reader contract: what downstream services may import to follow new articles.

Readers see one view, `articles_feed` (role `sosik_reader` may SELECT it and nothing else),
and one NOTIFY channel, `sosik_articles`, whose payload is an article id, sent when an article
is inserted and when it gets a new version (delivered at commit; nothing on rollback).

Why an id cursor never skips a row here: ids come from a sequence, and in general a
transaction that drew id 10 can commit after one that drew id 11, so a reader that has seen
11 and moves its cursor past it would never see 10. sosik's writers (db.articles) hold one
lock (`db.locks.take_writer_lock`, a row lock no reader can take) from before they draw their
first id until they commit, so writer transactions run one at a time, each one's ids are
higher than all ids drawn before, and every snapshot a reader takes holds all the committed
ids up to some point and none above it. `WHERE id > last ORDER BY id` then sees every row
exactly once; holes in the ids (rolled-back or conflicting inserts) are permanent.
The guarantee holds as long as every writer of `articles` goes through db.articles and the
sequence keeps CACHE 1 (the default the migration leaves).

Notifications are not trusted: any role that can connect may `NOTIFY sosik_articles` with any
payload. A payload that is not an article id is skipped and logged (with the sending backend's
pid, for the operator), never raised. A valid id at or below the cursor only means "look
again": `follow` re-reads the row and yields it only when it carries a version it has not
yielded, so a forged or repeated notification cannot make a reader handle an article twice.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from db.rows import FeedRow

__all__ = [
    "CHANNEL",
    "FeedRow",
    "follow",
    "get_articles",
    "get_articles_by_url",
    "iter_new",
    "listen",
]

CHANNEL = "sosik_articles"
LISTEN = sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL))
SELECT_AFTER = "SELECT * FROM articles_feed WHERE id > %(after)s ORDER BY id LIMIT %(limit)s"
SELECT_BY_IDS = "SELECT * FROM articles_feed WHERE id = ANY(%(ids)s) ORDER BY id"
SELECT_BY_URLS = "SELECT * FROM articles_feed WHERE canonical_url = ANY(%(urls)s) ORDER BY id"
# When follow() began listening, less a margin: a writer's rows carry its transaction's start
# time, and a transaction that began before our LISTEN still notifies us at its commit.
LISTENING_SINCE = "SELECT now() - interval '10 minutes'"

logger = logging.getLogger(__name__)

_ID = re.compile(r"[1-9][0-9]{0,18}")  # a positive bigint, as the trigger writes it
MAX_ID = 2**63 - 1
REMEMBERED = 10_000  # recent ids whose yielded version follow() keeps
LOGGED_GARBAGE = 5  # garbage notifications logged one by one; then every 1,000th


class _Garbage:
    """Counts notifications that are not article ids and logs a bounded number of them."""

    def __init__(self) -> None:
        self.count = 0

    def note(self, payload: str, pid: int) -> None:
        self.count += 1
        if self.count <= LOGGED_GARBAGE or self.count % 1000 == 0:
            logger.warning(
                "skipped a notification on %s that is not an article id: %r from backend pid "
                "%s (%d so far)",
                CHANNEL,
                payload[:80],
                pid,
                self.count,
            )


def article_id(payload: str) -> int | None:
    """The article id a notification payload carries, or None when it carries none."""
    if not _ID.fullmatch(payload):
        return None
    value = int(payload)
    return value if value <= MAX_ID else None


def _ids(notifies: Iterable[psycopg.Notify], garbage: _Garbage) -> Iterator[int]:
    for n in notifies:
        value = article_id(n.payload) if n.channel == CHANNEL else None
        if value is None:
            garbage.note(n.payload, n.pid)
        else:
            yield value


def iter_new(
    conn: psycopg.Connection[Any], after_id: int = 0, batch: int = 500
) -> Iterator[FeedRow]:
    """Every article with an id above `after_id`, in id order, fetched `batch` rows at a time.

    Stops when it has caught up; call again with the last id seen to go on. Each batch is
    read whole before its rows are yielded, so the connection is free between rows.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    while True:
        with conn.cursor(row_factory=class_row(FeedRow)) as cur:
            rows = cur.execute(SELECT_AFTER, {"after": after_id, "limit": batch}).fetchall()
        yield from rows
        if len(rows) < batch:
            return
        after_id = rows[-1].id


def get_articles(conn: psycopg.Connection[Any], ids: Iterable[int]) -> list[FeedRow]:
    """The feed rows of these article ids (those that exist), in id order."""
    with conn.cursor(row_factory=class_row(FeedRow)) as cur:
        return cur.execute(SELECT_BY_IDS, {"ids": list(ids)}).fetchall()


def get_articles_by_url(conn: psycopg.Connection[Any], urls: Iterable[str]) -> list[FeedRow]:
    """The feed rows whose canonical URL is one of `urls` (those stored), in id order.

    Give canonical URLs (crawler.domain.urls.canonical_url): an address that is only an alias of an
    article finds nothing here.
    """
    with conn.cursor(row_factory=class_row(FeedRow)) as cur:
        return cur.execute(SELECT_BY_URLS, {"urls": list(urls)}).fetchall()


def listen(conn: psycopg.Connection[Any], timeout: float | None = None) -> Iterator[int]:
    """Article ids from NOTIFY on `sosik_articles`, as they come, for `timeout` seconds in all
    (None: forever). Payloads that are not article ids are skipped and logged.

    The connection must be autocommit (notifications arrive between transactions) and must
    not be used for anything else while this generator runs: psycopg holds it while waiting.
    Query on a second connection, or use `follow`, which takes turns on one.
    """
    if not conn.autocommit:
        raise ValueError("listen() needs an autocommit connection")
    conn.execute(LISTEN)
    yield from _ids(conn.notifies(timeout=timeout), _Garbage())


def follow(
    conn: psycopg.Connection[Any], after_id: int = 0, *, batch: int = 500, wait: float = 30.0
) -> Iterator[FeedRow]:
    """New articles and new versions of old ones, forever, on one autocommit connection.

    LISTEN first, then catch up with `iter_new`, then sleep until a notification (or `wait`
    seconds, a safety net) and catch up again. Ids at or below the cursor that are notified
    are re-read, and yielded only with a version this generator has not yielded yet; an id it
    never yielded (it was at or below `after_id`, or long forgotten) only with a version above 1
    whose row was touched since it began listening (less 10 minutes: a writer's transaction
    may have begun before). A notification can therefore not make a
    row come twice: garbage is skipped and logged, a repeated or forged id finds nothing new.
    """
    if not conn.autocommit:
        raise ValueError("follow() needs an autocommit connection")
    conn.execute(LISTEN)
    listening_since: datetime = conn.execute(LISTENING_SINCE).fetchone()[0]
    last = after_id
    versions: OrderedDict[int, int] = OrderedDict()  # recent ids -> version last yielded
    garbage = _Garbage()

    def fresh(row: FeedRow, known: int) -> bool:
        if row.version <= known:
            return False
        versions[row.id] = row.version
        versions.move_to_end(row.id)
        if len(versions) > REMEMBERED:
            versions.popitem(last=False)
        return True

    def seen_version(row: FeedRow) -> int:
        if row.id in versions:
            return versions[row.id]
        # Not yielded here: the reader had it before (its cursor is past it). Its current
        # version is news only if it was made while we listened.
        return 1 if row.last_seen_at >= listening_since else row.version

    while True:
        for row in iter_new(conn, last, batch):
            last = row.id
            if fresh(row, versions.get(row.id, 0)):
                yield row
        # Leave each notifies() generator before querying: it holds the connection.
        ids = set(_ids(conn.notifies(timeout=wait, stop_after=1), garbage))
        ids |= set(_ids(conn.notifies(timeout=0), garbage))
        older = sorted(i for i in ids if i <= last)
        for start in range(0, len(older), batch):
            for row in get_articles(conn, older[start : start + batch]):
                if fresh(row, seen_version(row)):
                    yield row
