"""sosik: crawl Korean news portals into PostgreSQL, and read what was stored.

Each subcommand is a module of crawler/commands/ (its `add_parser`); this module lists them.

Errors an operator can act on (no network, no database, a bad argument) end in one line on
stderr and a non-zero exit, never a traceback (crawler.errors.run_guarded). Exit codes of
`crawl`: 0 ok, 1 errors or failed, 2 degraded (the layout-drift alarm), so a scheduler can
alert; 64 for a usage error, whose line names the flag and the value.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from crawler.errors import ArgumentParser, guard_logging, run_guarded


# -- main --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The `sosik` parser, with the subcommand of every module in crawler.commands."""
    p = ArgumentParser(prog="sosik", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    for module in _command_modules():
        module.add_parser(sub)
    return p


def _command_modules() -> list[Any]:
    """The subcommands, each in its own module under crawler/commands/, in help order."""
    import importlib

    mods = []
    names = (
        "crawl",
        "extract",
        "database",
        "runs",
        "schedule",
        "reparse",
        "canary",
        "demo",
        "enqueue",
        "worker",
        "queue",
        "articles",
        "export",
        "show",
        "serve",
    )
    for name in (f"crawler.commands.{n}" for n in names):
        try:
            mods.append(importlib.import_module(name))
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
    return mods


def main(argv: list[str] | None = None) -> int:
    """`sosik ARGS`: the command's exit code; every failure one line (crawler.errors)."""
    return run_guarded("sosik", lambda: _dispatch(argv))


def _dispatch(argv: list[str] | None) -> int:
    guard_logging(None)  # passwords masked in whatever is logged before a handler is set up
    args = build_parser().parse_args(argv)
    if args.command not in ("crawl", "canary"):  # theirs is Scrapy's, at --log-level
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        guard_logging(None)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
