"""`sosik db`: upgrade, downgrade and url (the schema through Alembic), and status, stop and
flush-spill, the database as an operator sees it:

- status: which database (DATABASE_URL, or the embedded server and where its data lives, and
  whether it runs; it is never started to answer), the schema revision, running and killed
  crawls, the search index's backlog (articles the indexer would index now: the same query)
  and which indexer holds its lease, spill files waiting to be written back. Exit 0 when the
  database answers, else 1.
- stop: stop the embedded server (fast shutdown: nothing committed is lost). DATABASE_URL's
  server is not ours to stop.
- flush-spill: write back every pending spill file of this database (the items a crawl could
  not store while the database was down, and the crawl's end when it could not record it),
  then mark `killed` the runs whose process is gone. Idempotent; exit 1 when a file could not
  be written back (it stays for the next try).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from crawler.commands import CommandError
from crawler.errors import UsageError


def run(args: argparse.Namespace) -> int:
    """Runs `sosik db status`, `stop` or `flush-spill`."""
    return {"status": status, "stop": stop, "flush-spill": flush_spill}[args.action](args)


def _external() -> str | None:
    from db.connection import ENV_URL

    return os.environ.get(ENV_URL) or None


def status(args: argparse.Namespace) -> int:
    """Prints where the database is (DATABASE_URL or the embedded server), its schema revision,
    running crawls, the search index's backlog and indexer, and waiting spill files; 1 when no
    database answered.
    """
    from db.connection import (
        EMBEDDED_DBNAME,
        database_exists,
        describe,
        embedded_status,
        sosik_home,
        with_dbname,
    )

    out = sys.stdout
    url = _external()
    out.write(f"home        {sosik_home()}\n")
    answered = False
    if url:
        out.write(f"database    {describe(url)} (DATABASE_URL)\n")
    else:
        st = embedded_status()
        state = (
            f"running (pid {st.pid}, socket in {st.socket_dir})"
            if st.running
            else ("stopped" if st.exists else "not created yet (the first command creates it)")
        )
        out.write(f"database    embedded PostgreSQL in {st.pgdata}: {state}\n")
        if st.running and st.socket_dir:
            server = f"postgresql://postgres:@/postgres?host={st.socket_dir}"
            if database_exists(server, EMBEDDED_DBNAME):
                url = with_dbname(server, EMBEDDED_DBNAME)
            else:
                answered = True
                out.write(
                    f"schema      none: no database {EMBEDDED_DBNAME!r} on it yet (the first "
                    "crawl or `sosik db upgrade` makes it)\n"
                )
    if url:
        answered = _describe_database(url, out)
    _spill_status(out)
    return 0 if answered else 1


def _spill_status(out: Any) -> None:
    from pipelines.spill import pending_files, spill_dir

    files = pending_files(spill_dir())
    if files:
        items = sum(max(0, _lines(p) - 1) for p in files)
        out.write(
            f"spill       {len(files)} file(s), {items} record(s) waiting in {spill_dir()}: "
            "`sosik db flush-spill`\n"
        )
    else:
        out.write("spill       nothing waiting\n")


def _describe_database(url: str, out: Any) -> bool:
    import psycopg

    from crawler.runrecord import reap_dead_runs
    from db.connection import DatabaseUnavailable, connect
    from db.crawl_runs import database_identity, running_runs
    from db.migrate import current_revision, head_revision
    from pipelines.spill import pending_runs, spill_dir

    try:
        revision = current_revision(url)
    except DatabaseUnavailable as e:
        out.write(f"reachable   no: {e}\n")
        return False
    head = head_revision()
    note = "up to date" if revision == head else f"head is {head}: `sosik db upgrade`"
    out.write(f"schema      {revision or 'none'} ({note})\n")
    if revision is None:
        return True
    try:
        with connect(url) as conn:
            skip = pending_runs(spill_dir(), database_identity(conn))
            killed = reap_dead_runs(conn, skip=skip)
            running = running_runs(conn)
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn):
        return True  # an older schema: nothing more to say before `sosik db upgrade`
    who = ", ".join(f"{r.id} ({r.spider}, pid {r.pid} on {r.host})" for r in running)
    out.write(f"crawls      {len(running)} running{': ' + who if who else ''}\n")
    if killed:
        out.write(f"            marked killed now: {', '.join(map(str, killed))}\n")
    try:
        with connect(url) as conn:
            _search_status(conn, out)
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn):
        pass  # no search index in this schema yet
    return True


def _search_status(conn: Any, out: Any) -> None:
    """The search index's backlog, counted by the indexer's own rule, and who indexes it."""
    from crawler.domain.terms import tokenizer_version
    from crawler.extensions.indexer import LEASE
    from db.locks import lease_holder
    from db.search import index_status

    indexed, pending = index_status(conn, tokenizer_version())
    holder = lease_holder(conn, LEASE)
    hint = ": `sosik db reindex`" if pending and holder is None else ""
    out.write(f"search      {indexed:,} indexed, {pending:,} waiting for the index{hint}\n")
    if holder is None:
        out.write("indexer     none holds the lease\n")
    else:
        since = holder.acquired_at.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
        out.write(f"indexer     {holder.owner} holds the lease since {since}\n")


def _lines(path: Any) -> int:
    try:
        with open(path, encoding="utf-8") as fh:
            return sum(1 for _ in fh)
    except OSError:
        return 0


def stop(args: argparse.Namespace) -> int:
    """Stops the embedded PostgreSQL server if it runs; CommandError when DATABASE_URL points
    elsewhere.
    """
    from db.connection import embedded_status, stop_embedded

    if _external():
        raise CommandError(
            "DATABASE_URL is set: `sosik db stop` stops only the embedded server, not that one"
        )
    st = embedded_status()
    if not stop_embedded():
        print(f"the embedded PostgreSQL in {st.pgdata} is not running", file=sys.stderr)
        return 0
    print(f"stopped the embedded PostgreSQL in {st.pgdata}", file=sys.stderr)
    return 0


def flush_spill(args: argparse.Namespace) -> int:
    """Writes this database's spill files back into it and reports each; 1 when a file could not be
    written back.
    """
    from crawler.runrecord import reap_dead_runs
    from db.connection import connect, database_url
    from db.crawl_runs import database_identity
    from db.migrate import upgrade
    from pipelines.spill import pending_files, pending_runs, read_header, spill_dir, write_back
    from pipelines.writing import one_line

    url = database_url()
    upgrade(url)
    directory = spill_dir()
    failed = 0
    with connect(url) as conn:
        identity = database_identity(conn)
        files = pending_files(directory, identity)
        if not files:
            print(f"sosik db flush-spill: nothing to write back in {directory}", file=sys.stderr)
        for path in files:
            try:
                done = write_back(conn, path)
            except Exception as e:
                failed += 1
                print(f"sosik: could not write back {path}: {one_line(e)}", file=sys.stderr)
                continue
            if done is None:
                continue  # another process took it meanwhile
            outcomes = ", ".join(f"{k} {v}" for k, v in sorted(done.outcomes.items())) or "none"
            ended = f"; run {done.run_id} recorded as {done.ended}" if done.ended else ""
            print(
                f"sosik db flush-spill: {path.name}: {done.articles} articles ({outcomes}), "
                f"{done.hits} hits, {done.refused} refused{ended}",
                file=sys.stderr,
            )
        reap_dead_runs(conn, skip=pending_runs(directory, identity))
    others = [
        p for p in pending_files(directory) if (read_header(p) or {}).get("database") != identity
    ]
    if others:
        print(
            f"sosik db flush-spill: {len(others)} file(s) belong to another database "
            "(run it with that DATABASE_URL)",
            file=sys.stderr,
        )
    return 1 if failed else 0


def run_db(args: argparse.Namespace) -> int:
    """Runs a `sosik db` action (url, upgrade, downgrade, status, stop, flush-spill, reindex);
    UsageError for an unknown revision or a downgrade without one.
    """
    from alembic.util import CommandError as AlembicError

    from db.connection import database_url
    from db.migrate import downgrade, upgrade

    if args.action in ("status", "stop", "flush-spill"):
        return run(args)
    if args.action == "reindex":
        from crawler.commands import reindex

        return reindex.run(args)
    try:
        if args.action == "url":
            print(database_url())
        elif args.action == "upgrade":
            upgrade(None, args.revision or "head")
            print("database schema is at", args.revision or "head", file=sys.stderr)
        elif args.action == "downgrade":
            if not args.revision:
                raise UsageError("db downgrade needs a revision (e.g. base or -1)")
            downgrade(None, args.revision)
    except AlembicError as e:  # a revision that does not exist, mostly
        raise UsageError(f"db {args.action} {args.revision or 'head'}: {e}") from None
    return 0


def add_parser(sub: Any) -> None:
    """`sosik db`'s arguments."""
    from crawler.commands.reindex import add_arguments as reindex_arguments

    d = sub.add_parser(
        "db", help="database: upgrade, downgrade, url, status, stop, flush-spill, reindex"
    )
    d.add_argument(
        "action",
        choices=("upgrade", "downgrade", "url", "status", "stop", "flush-spill", "reindex"),
    )
    d.add_argument("revision", nargs="?")
    reindex_arguments(d)  # --follow, --batch, --nice
    d.set_defaults(func=run_db)
