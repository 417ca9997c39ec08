"""Subcommands of `sosik` kept in their own modules; each exposes `add_parser(subparsers)`.

crawler.cli imports `runs`, `schedule`, `reparse`, `enqueue`, `worker` and `queue` from here
when they exist.
"""

from __future__ import annotations


class CommandError(ValueError):
    """Something the operator can fix; `sosik` prints it as one line and exits 1."""
