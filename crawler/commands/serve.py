"""`sosik serve [--host H] [--port P]`: the read-only HTTP API and web pages (crawler.web).

The database: `--database-url`, else `SOSIK_READER_URL`, else the one every command uses
(DATABASE_URL, else the embedded server). Whatever role it logs in as, every request reads as
`sosik_reader` in a read-only transaction (db.readers.reading): the login must be that role's
member — a service login made with `CREATE ROLE web LOGIN IN ROLE sosik_reader`, or the owner.
Checked before listening; a login that may not, or a database without the reader views, is one
line and exit 1. With a schedule (`--schedule`, $SOSIK_SCHEDULE or ./schedule.toml) the health
page lists every job of it, when it is next due, and flags a job late past due.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from crawler.arguments import flag_type, positive

ENV_READER_URL = "SOSIK_READER_URL"


def add_parser(sub: Any) -> None:
    """`sosik serve`'s arguments."""
    p = sub.add_parser("serve", help="read-only HTTP API and web pages: search, articles, health")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=flag_type(positive), default=8000, help="default 8000")
    p.add_argument(
        "--database-url",
        help=f"where to read (default ${ENV_READER_URL}, else the database of every command)",
    )
    p.add_argument(
        "--statement-timeout",
        type=flag_type(positive),
        default=2000,
        metavar="MS",
        help="a query running longer is cancelled and answered 503 (default 2000)",
    )
    p.add_argument("--connections", type=flag_type(positive), default=4, help="database pool size")
    p.add_argument(
        "--schedule",
        metavar="FILE",
        default=os.environ.get("SOSIK_SCHEDULE"),
        help="the schedule.toml the jobs run from: the health page then shows every job, when "
        "it is next due and whether it is late (default $SOSIK_SCHEDULE, else ./schedule.toml "
        "if there is one)",
    )
    p.add_argument("--log-level", default="warning", choices=("debug", "info", "warning"))
    p.set_defaults(func=serve)


def serve(args: argparse.Namespace) -> int:
    """Serves the read-only API and pages with uvicorn; the reader database is checked first."""
    import uvicorn

    from crawler.web.app import check_reader, create_app
    from db.connection import database_url

    url = args.database_url or os.environ.get(ENV_READER_URL) or database_url()
    check_reader(url)
    app = create_app(url, statement_timeout_ms=args.statement_timeout, pool_size=args.connections)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
