"""Subcommands of `sosik` kept in their own modules; each exposes `add_parser(subparsers)`.

crawler.cli lists them (`_command_modules`) and adds each one's parser, in help order.
"""

from __future__ import annotations


class CommandError(ValueError):
    """The command could not do what was asked (nothing found, no schema); `sosik` prints it
    as one line and exits 1. A wrong flag, argument or file is crawler.errors.UsageError (64)."""
