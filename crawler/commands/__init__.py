"""Subcommands of `sosik` kept in their own modules; each exposes `add_parser(subparsers)`.

crawler.cli imports `runs`, `schedule`, `reparse`, `enqueue`, `worker` and `queue` from here
when they exist.
"""

from __future__ import annotations


class CommandError(ValueError):
    """The command could not do what was asked (nothing found, no schema); `sosik` prints it
    as one line and exits 1. A wrong flag, argument or file is crawler.errors.UsageError (64)."""
