"""The reader contract: what downstream services may import to follow new articles.

Readers see one view, `articles_feed` (role `sosik_reader` may SELECT it and nothing else),
and one NOTIFY channel, `sosik_articles`, whose payload is an article id, sent when an article
is inserted and when it gets a new version (delivered at commit; nothing on rollback).

Why an id cursor never skips a row here: ids come from a sequence, and in general a
transaction that drew id 10 can commit after one that drew id 11, so a reader that has seen
11 and moves its cursor past it would never see 10. sosik's writers (db.articles) hold one
transaction-scoped advisory lock (`db.articles.WRITER_LOCK`) from before they draw their
first id until they commit, so writer transactions run one at a time, each one's ids are
higher than all ids drawn before, and every snapshot a reader takes holds all the committed
ids up to some point and none above it. `WHERE id > last ORDER BY id` then sees every row
exactly once; holes in the ids (rolled-back or conflicting inserts) are permanent.
The guarantee holds as long as every writer of `articles` goes through db.articles and the
sequence keeps CACHE 1 (the default the migration leaves).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from db.rows import FeedRow

__all__ = ["CHANNEL", "FeedRow", "follow", "get_articles", "iter_new", "listen"]

CHANNEL = "sosik_articles"
LISTEN = sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL))
SELECT_AFTER = "SELECT * FROM articles_feed WHERE id > %(after)s ORDER BY id LIMIT %(limit)s"
SELECT_BY_IDS = "SELECT * FROM articles_feed WHERE id = ANY(%(ids)s) ORDER BY id"


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


def listen(conn: psycopg.Connection[Any], timeout: float | None = None) -> Iterator[int]:
    """Article ids from NOTIFY on `sosik_articles`, as they come, for `timeout` seconds in all
    (None: forever).

    The connection must be autocommit (notifications arrive between transactions) and must
    not be used for anything else while this generator runs: psycopg holds it while waiting.
    Query on a second connection, or use `follow`, which takes turns on one.
    """
    if not conn.autocommit:
        raise ValueError("listen() needs an autocommit connection")
    conn.execute(LISTEN)
    for notify in conn.notifies(timeout=timeout):
        yield int(notify.payload)


def follow(
    conn: psycopg.Connection[Any], after_id: int = 0, *, batch: int = 500, wait: float = 30.0
) -> Iterator[FeedRow]:
    """New articles and new versions of old ones, forever, on one autocommit connection.

    LISTEN first, then catch up with `iter_new`, then sleep until a notification (or `wait`
    seconds, a safety net) and catch up again; ids at or below the cursor that are notified
    are re-read as new versions. A row can come again only with a higher version.
    """
    if not conn.autocommit:
        raise ValueError("follow() needs an autocommit connection")
    conn.execute(LISTEN)
    last = after_id
    versions: OrderedDict[int, int] = OrderedDict()  # recent ids -> version last yielded

    def fresh(row: FeedRow) -> bool:
        if versions.get(row.id, 0) >= row.version:
            return False
        versions[row.id] = row.version
        versions.move_to_end(row.id)
        if len(versions) > 10_000:
            versions.popitem(last=False)
        return True

    while True:
        for row in iter_new(conn, last, batch):
            last = row.id
            if fresh(row):
                yield row
        # Leave each notifies() generator before querying: it holds the connection.
        ids = {int(n.payload) for n in conn.notifies(timeout=wait, stop_after=1)}
        ids |= {int(n.payload) for n in conn.notifies(timeout=0)}
        older = sorted(i for i in ids if i <= last)
        if older:
            for row in get_articles(conn, older):
                if fresh(row):
                    yield row
