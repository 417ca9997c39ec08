"""`sosik export --format jsonl|csv|parquet [filters] -o FILE`: articles into a file, streamed.

    sosik export --format jsonl -o news.jsonl                     # every article
    sosik export --format csv --query 반도체 --since 2025-01-01 -o chips.csv
    sosik export --format parquet --publisher 연합뉴스 -o yna.parquet

The same filters as `sosik articles`; with --query every match is exported (not a ranked
page), in id order. Rows are read through a server-side cursor 1,000 at a time and written as
they come, so memory stays flat whatever the number of articles (parquet: one row group per
5,000 rows). One read-only transaction: the file is one consistent snapshot. Columns: those of
the reader view `articles_feed`; times in ISO 8601 with their offset (KST as stored, UTC in
parquet's timestamps). CSV: UTF-8 with a byte-order mark (so spreadsheet programs read Hangul
right), lists (urls, authors) joined by a newline. `-o -` writes jsonl or csv to stdout.
A progress line on stderr when it is a terminal. The file is written under a temporary name
and renamed at the end: an interrupted export leaves no half file behind.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from crawler.arguments import flag_type, positive
from crawler.commands import CommandError
from crawler.commands.articles import add_filters, filters

FORMATS = ("jsonl", "csv", "parquet")
COLUMNS = (
    "id", "canonical_url", "urls", "portal", "publisher", "title", "subtitle", "body",
    "authors", "section", "published_at", "updated_at", "version", "cluster_id",
    "first_seen_at", "last_seen_at",
)  # fmt: skip
ROW_GROUP = 5000
PROGRESS_SECONDS = 0.5


def add_parser(sub: Any) -> None:
    """`sosik export`'s arguments."""
    p = sub.add_parser("export", help="articles into a jsonl, csv or parquet file (streamed)")
    p.add_argument("--format", "-f", choices=FORMATS, required=True)
    p.add_argument("--output", "-o", required=True, help="the file (- for stdout: jsonl, csv)")
    add_filters(p)
    p.add_argument("--limit", "-n", type=flag_type(positive), help="at most this many")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Streams the matching articles into the file (written to a temporary file, then renamed) or
    stdout, with a progress line on a TTY.
    """
    from crawler.errors import UsageError
    from db.connection import connect, database_url
    from db.search import estimate_stream, stream

    to_stdout = args.output == "-"
    if to_stdout and args.format == "parquet":
        raise UsageError("-o -: parquet needs a file")
    if args.format == "parquet":
        _pyarrow()  # before anything is read
    tty = sys.stderr.isatty()
    with connect(database_url()) as conn:
        expected = estimate_stream(conn, args.query, **filters(args)) if tty else None
        if expected is not None and args.limit:
            expected = min(expected, args.limit)
        progress = Progress(expected, draw=tty)
        rows = progress.count(stream(conn, args.query, **filters(args), limit=args.limit))
        if to_stdout:
            WRITERS[args.format](rows, sys.stdout)
        else:
            _to_file(args.output, args.format, rows)
    progress.done()
    if not to_stdout:
        print(f"exported {progress.n:,} articles to {args.output}", file=sys.stderr)
    return 0


def _to_file(path: str, fmt: str, rows: Iterable[dict[str, Any]]) -> None:
    tmp = f"{path}.part-{os.getpid()}"
    try:
        if fmt == "parquet":
            write_parquet(rows, tmp)
        else:
            encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
            with open(tmp, "w", encoding=encoding, newline="") as f:
                WRITERS[fmt](rows, f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# -- formats ------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def write_jsonl(rows: Iterable[dict[str, Any]], out: IO[str]) -> None:
    """One JSON object per article and line, Korean text unescaped, timestamps in ISO 8601."""
    for row in rows:
        out.write(json.dumps({c: _plain(row[c]) for c in COLUMNS}, ensure_ascii=False) + "\n")


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> None:
    """CSV with a header row; list fields one item per line, None as an empty cell."""
    w = csv.writer(out)
    w.writerow(COLUMNS)
    for row in rows:
        w.writerow(
            "\n".join(v) if isinstance(v, list) else ("" if v is None else _plain(v))
            for v in (row[c] for c in COLUMNS)
        )


WRITERS = {"jsonl": write_jsonl, "csv": write_csv}


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise CommandError(
            "parquet needs pyarrow: pip install 'sosik[export]' (or pip install pyarrow)"
        ) from None
    return pyarrow


def parquet_schema() -> Any:
    """The Parquet schema of COLUMNS: id, version and cluster_id as integers, URL and author lists
    as lists, timestamps in UTC microseconds, the rest text.
    """
    pa = _pyarrow()
    when = pa.timestamp("us", tz="UTC")
    text, texts = pa.string(), pa.list_(pa.string())
    types = {
        "id": pa.int64(), "urls": texts, "authors": texts, "version": pa.int32(),
        "cluster_id": pa.int64(), "published_at": when, "updated_at": when,
        "first_seen_at": when, "last_seen_at": when,
    }  # fmt: skip
    return pa.schema([(c, types.get(c, text)) for c in COLUMNS])


def write_parquet(rows: Iterable[dict[str, Any]], path: str) -> None:
    """Row groups of ROW_GROUP rows: at most one group in memory."""
    pa = _pyarrow()
    schema = parquet_schema()
    with pa.parquet.ParquetWriter(path, schema, compression="zstd") as writer:
        group: list[dict[str, Any]] = []
        for row in rows:
            group.append(row)
            if len(group) >= ROW_GROUP:
                writer.write_table(pa.Table.from_pylist(group, schema=schema))
                group.clear()
        if group:
            writer.write_table(pa.Table.from_pylist(group, schema=schema))


# -- progress -----------------------------------------------------------------------------------
class Progress:
    """`exported 12,000 / ~100,000 articles  [####------]  3,400/s` on stderr, redrawn in place."""

    def __init__(self, expected: int | None, draw: bool) -> None:
        self.expected = expected
        self.draw = draw
        self.n = 0
        self.started = time.monotonic()
        self.shown = 0.0

    def count(self, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Passes the rows through, counting them and redrawing the line at most every
        PROGRESS_SECONDS.
        """
        for row in rows:
            self.n += 1
            if self.draw:
                now = time.monotonic()
                if now - self.shown >= PROGRESS_SECONDS:
                    self.shown = now
                    self._draw(now)
            yield row

    def _draw(self, now: float) -> None:
        rate = self.n / max(now - self.started, 1e-9)
        line = f"exported {self.n:,}"
        if self.expected:
            share = min(1.0, self.n / self.expected)
            bar = "#" * round(20 * share)
            line += f" / ~{self.expected:,} articles  [{bar:-<20}]"
        else:
            line += " articles"
        sys.stderr.write(f"\r{line}  {rate:,.0f}/s  ")
        sys.stderr.flush()

    def done(self) -> None:
        """Draws the final count and ends the line (on a TTY only)."""
        if self.draw:
            self._draw(time.monotonic())
            sys.stderr.write("\n")
