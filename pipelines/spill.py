"""The spill file: what the store could not write while the database was down, kept on disk.

`<home>/spill/run-<run id>-<pid>-<n>.jsonl` (home: $SOSIK_HOME, else $XDG_DATA_HOME/sosik), one
JSON object per line:

    {"type": "header", "database": "<id>/<name>", "run": 42, "pid": …, "host": …, "created": …}
    {"type": "article", "item": {…}}       an ArticleItem with its identity keys
    {"type": "hit", "item": {…}}           a SearchHit
    {"type": "run", "status": …, "stats": {…}, "errors": [...]}   the run's end, if the database
                                                                   was down when the crawl closed

Every append is flushed and fsynced before the items leave the store's memory. The process that
writes a file holds an exclusive lock on it (flock) for as long as the file is its own; a file
nobody holds is pending. The next crawl on the same database, or `sosik db flush-spill`, writes
a pending file back (`write_back`) and deletes it. Writing back is idempotent: an article stored
twice is `unchanged` the second time, a hit is upserted, so a write-back cut short by another
outage is simply done again. The header names the database (its id from `sosik_database` and
its name), so a spill is never written into another database.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import logging
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from crawler.domain.items import ArticleItem, SearchHit
from crawler.runrecord import RunRecord, this_host
from pipelines.writing import StoreOptions, write

logger = logging.getLogger(__name__)

WRITE_BACK_BATCH = 250
_serial = itertools.count(1)
_DATES = {
    "article": ("published_at", "updated_at", "fetched_at"),
    "hit": ("published_at",),
}
_TYPES: dict[str, type] = {"article": ArticleItem, "hit": SearchHit}


def spill_dir(setting: str | None = None) -> Path:
    """Where spill files go: the STORE_SPILL_DIR setting, else `<home>/spill`."""
    if setting:
        return Path(setting).expanduser().resolve()
    from db.connection import sosik_home

    return sosik_home() / "spill"


def item_record(item: ArticleItem | SearchHit) -> dict[str, Any]:
    """An item as a spill line."""
    kind = "article" if isinstance(item, ArticleItem) else "hit"
    return {"type": kind, "item": item.to_json()}


def item_from_record(record: dict[str, Any]) -> ArticleItem | SearchHit:
    """A spill line back into its item (every field, the keys included)."""
    kind = record["type"]
    data = dict(record["item"])
    for key in _DATES[kind]:
        if data.get(key):
            data[key] = datetime.fromisoformat(data[key])
    cls = _TYPES[kind]
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


class SpillFile:
    """One process's spill file for one run: created on the first spill, locked while open."""

    def __init__(self, directory: Path, database: str, run_id: int | None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"run-{run_id or 0}-{os.getpid()}-{next(_serial)}.jsonl"
        self._fh = open(self.path, "a", encoding="utf-8")
        fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.items = 0
        header = {
            "type": "header",
            "database": database,
            "run": run_id,
            "pid": os.getpid(),
            "host": this_host(),
            "created": datetime.now().astimezone().isoformat(),
        }
        self._write([header])
        _fsync_dir(directory)

    def append(self, items: Sequence[ArticleItem | SearchHit]) -> None:
        """Write items and fsync: when this returns, they are on disk."""
        self._write([item_record(it) for it in items])
        self.items += len(items)

    def append_run(self, status: str, stats: dict[str, Any], errors: list[Any]) -> None:
        """The run's end, for a database that could not be told when the crawl closed."""
        self._write([{"type": "run", "status": status, "stats": stats, "errors": errors}])

    def close(self) -> None:
        """Release the file: from now on it is pending (written back by the next writer)."""
        if not self._fh.closed:
            self._fh.close()  # closing the descriptor releases the lock

    def discard(self) -> None:
        """Delete the file (its items are in the database) and release it."""
        self.path.unlink(missing_ok=True)
        self.close()

    def _write(self, records: list[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records)
        self._fh.write(lines)
        self._fh.flush()
        os.fsync(self._fh.fileno())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_header(path: Path) -> dict[str, Any] | None:
    """The header line of a spill file as a dict; None when the file is unreadable or does not start
    with one.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            first = fh.readline()
        header = json.loads(first)
    except (OSError, ValueError):
        return None
    return header if isinstance(header, dict) and header.get("type") == "header" else None


def pending_files(directory: Path, database: str | None = None) -> list[Path]:
    """Spill files no process holds (of `database`, if given), oldest first."""
    if not directory.is_dir():
        return []
    out = []
    for path in sorted(directory.glob("run-*.jsonl"), key=lambda p: p.stat().st_mtime):
        header = read_header(path)
        if header is None or (database is not None and header.get("database") != database):
            continue
        if _held(path):
            continue
        out.append(path)
    return out


def pending_runs(directory: Path, database: str | None = None) -> set[int]:
    """The runs whose items (or end) wait in a pending spill file."""
    runs = set()
    for path in pending_files(directory, database):
        header = read_header(path)
        if header and header.get("run"):
            runs.add(int(header["run"]))
    return runs


def _held(path: Path) -> bool:
    try:
        with open(path, "a", encoding="utf-8") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fh, fcntl.LOCK_UN)
    except OSError:
        return True
    return False


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a spill file after its header (a torn last line is skipped: its items
    were never confirmed to the store, which kept them)."""
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if n == 0:
                continue
            try:
                yield json.loads(line)
            except ValueError:
                logger.warning("%s: line %d is torn; skipped", path, n + 1)


@dataclass(slots=True)
class WriteBack:
    """What writing one spill file back did."""

    path: Path
    run_id: int | None
    articles: int = 0
    hits: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    ended: str | None = None  # the run's status from the file's end record, if it has one
    record: RunRecord = field(default_factory=RunRecord)  # refused items, held texts


def write_back(
    conn: psycopg.Connection[Any],
    path: Path,
    options: StoreOptions | None = None,
    *,
    record_run: bool = True,
) -> WriteBack | None:
    """Store a spill file's items, delete it, and (`record_run`) record in its run what was
    written back, refused, and the run's end if the file holds it.

    None when another process holds the file. Raises when the database fails meanwhile; the
    file then stays for the next try. The caller must not hold the file open itself.
    """
    from db.crawl_runs import add_to_run, finish_run

    header = read_header(path)
    if header is None:
        return None
    fh = open(path, encoding="utf-8")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        run_id = header.get("run")
        base = options or StoreOptions()
        opts = StoreOptions(
            run_id, base.cluster_distance, base.cluster_window_days, base.suspect_ratio
        )
        done = WriteBack(path, run_id)
        record = done.record
        final: dict[str, Any] | None = None
        pending: list[Any] = []

        def flush() -> None:
            articles = [x for x in pending if isinstance(x, ArticleItem)]
            hits = [x for x in pending if isinstance(x, SearchHit)]
            written = write(conn, articles, hits, opts)
            done.articles += len(articles)
            done.hits += written.hits
            for item, result in written.articles:
                done.outcomes[result.outcome] += 1
                if result.outcome == "suspect":
                    record.add("suspect", item.url, "much shorter than the stored text: held")
            for refused in written.refused:
                done.refused += 1
                record.add("store", refused.item.url, f"refused by the database: {refused.reason}")
            pending.clear()

        for rec in read_records(path):
            if rec.get("type") == "run":
                final = rec
            elif rec.get("type") in _TYPES:
                pending.append(item_from_record(rec))
                if len(pending) >= WRITE_BACK_BATCH:
                    flush()
        if pending:
            flush()
        stats = {
            "spill/written_back": done.articles + done.hits,
            "spill/written_back_at": datetime.now().astimezone().isoformat(),
            **{f"spill/{k}": v for k, v in done.outcomes.items()},
        }
        if final is not None:
            done.ended = final.get("status")
        if run_id and record_run:
            if final is not None:
                finish_run(
                    conn,
                    run_id,
                    final.get("status") or "errors",
                    {**(final.get("stats") or {}), **stats},
                    [*(final.get("errors") or []), *record.to_json()],
                )
            else:
                add_to_run(conn, run_id, errors=record.to_json(), stats=stats)
        path.unlink(missing_ok=True)
        logger.info(
            "wrote back %s: %d articles (%s), %d hits, %d refused",
            path,
            done.articles,
            dict(done.outcomes),
            done.hits,
            done.refused,
        )
        return done
    finally:
        fh.close()
