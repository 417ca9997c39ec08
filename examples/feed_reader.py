"""Follow sosik's new articles as a downstream service would: `python examples/feed_reader.py`.

Reads only the reader contract (db.feed): the `articles_feed` view and NOTIFY on
`sosik_articles`. Prints one line per new article or new version, and keeps its place in a
small state file so that a restart resumes where it stopped (no article missed or repeated).

    DATABASE_URL=postgresql://feed@db/sosik python examples/feed_reader.py --state feed.pos

A production reader logs in as a role that is a member of `sosik_reader`
(`CREATE ROLE feed LOGIN PASSWORD '…' IN ROLE sosik_reader;`), which may SELECT
`articles_feed` and nothing else. Without DATABASE_URL the embedded server is used.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import timedelta, timezone
from pathlib import Path

import psycopg

from db.connection import DatabaseUnavailable, connect
from db.dsn import ConfigError, redact
from db.feed import follow, iter_new

KST = timezone(timedelta(hours=9))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: DATABASE_URL or the embedded one)")
    parser.add_argument("--state", type=Path, help="file holding the last id read")
    parser.add_argument("--after", type=int, default=0, help="start after this id")
    parser.add_argument("--once", action="store_true", help="catch up and exit, do not wait")
    args = parser.parse_args(argv)

    # db.feed logs notifications it skips (not an article id) with the sender's pid
    logging.basicConfig(level=logging.WARNING, format="feed_reader: %(levelname)s %(message)s")
    after = args.after
    try:
        if args.state and args.state.exists():
            text = args.state.read_text().strip() or "0"
            if not text.isdigit():
                raise ConfigError(f"--state {str(args.state)!r} does not hold an id: {text[:40]!r}")
            after = int(text)
        with connect(args.url) as conn:
            rows = iter_new(conn, after) if args.once else follow(conn, after)
            for row in rows:
                kind = "new" if row.version == 1 else f"v{row.version}"
                when = row.published_at.astimezone(KST).isoformat() if row.published_at else "-"
                print(f"{row.id}\t{kind}\t{when}\t{row.publisher or '-'}\t{row.title}", flush=True)
                if args.state and row.id > after:
                    after = row.id
                    args.state.write_text(f"{after}\n")
    except ConfigError as e:
        print(f"feed_reader: {redact(str(e))}", file=sys.stderr)
        return 64
    except BrokenPipeError:  # `feed_reader.py | head`: the reader of our output has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (DatabaseUnavailable, OSError, psycopg.Error) as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        print(f"feed_reader: {redact(reason)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
