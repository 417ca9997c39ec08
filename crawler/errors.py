"""How a sosik command ends for a person: one line on stderr, an exit code a script can test.

Every command (`sosik …`, and `scrapy crawl` through crawler.scrapy_commands) runs inside
`run_guarded`, the one place that turns an exception into a line and a code:

| code | meaning |
|---|---|
| 0 | ok |
| 1 | the command ran and failed: pages failed, no database, a crawl that failed |
| 2 | a crawl ended degraded (layout-drift alarm) |
| 64 | usage error (EX_USAGE): a flag, an argument, an environment variable or a configuration file is wrong; the line names it and its value |
| 70 | a bug in sosik (EX_SOFTWARE): one line; `SOSIK_DEBUG=1` prints the traceback |
| 75 | `schedule once`: the job runs elsewhere (EX_TEMPFAIL) |
| 130 | interrupted (Ctrl-C) |
| 141 | the reader of our output went away (`sosik … \\| head`), as for any tool killed by SIGPIPE |

No traceback reaches the operator unless asked for, and no password either: every line and
every log record goes through db.dsn.redact first.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

from db.dsn import ConfigError, redact

EX_OK = 0
EX_FAILED = 1
EX_DEGRADED = 2
EX_USAGE = 64
EX_SOFTWARE = 70
EX_TEMPFAIL = 75
EX_INTERRUPTED = 130
EX_PIPE = 141

ENV_DEBUG = "SOSIK_DEBUG"


class UsageError(ConfigError):
    """The operator's input is wrong (flag, argument, file, environment): one line, exit 64.

    `prog` names the (sub)command the line is about (`sosik crawl`), when it is not the one
    that runs.
    """

    def __init__(self, message: str, prog: str | None = None) -> None:
        super().__init__(message)
        self.prog = prog


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors are a UsageError (one line, exit 64), not usage text and exit 2.

    Subcommand parsers made with `add_subparsers().add_parser` are of this class too, so every
    command's flags get the same treatment.
    """

    def error(self, message: str) -> NoReturn:
        """Raises UsageError with argparse's message (without its "argument " prefix) instead of
        printing usage and exiting 2.
        """
        raise UsageError(message.removeprefix("argument "), prog=self.prog)


def run_guarded(prog: str, func: Callable[[], int | None]) -> int:
    """Run a command; its exit code, every failure turned into one line on stderr."""
    try:
        code = int(func() or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the guard, not at exit
        return code
    except BrokenPipeError:
        _silence_stdout()
        return EX_PIPE
    except KeyboardInterrupt:
        _say(prog, "interrupted")
        return EX_INTERRUPTED
    except ConfigError as e:  # UsageError included
        _say(getattr(e, "prog", None) or prog, str(e))
        return EX_USAGE
    except Exception as e:
        code, line = describe_failure(e)
        _say(prog, line)
        if code == EX_SOFTWARE and os.environ.get(ENV_DEBUG):
            sys.stderr.write(redact("".join(traceback.format_exception(e))))
        return code


def describe_failure(e: BaseException) -> tuple[int, str]:
    """Exit code and one line for an exception that ended a command."""
    import psycopg

    from crawler.commands import CommandError
    from db.connection import DatabaseUnavailable

    if isinstance(e, DatabaseUnavailable | CommandError):
        return EX_FAILED, str(e)
    if isinstance(e, psycopg.Error):
        return EX_FAILED, f"database error: {first_line(e)}"
    if isinstance(e, OSError) and e.strerror:
        where = f": {e.filename}" if e.filename else ""
        return EX_FAILED, f"{e.strerror}{where}"
    if isinstance(e, ValueError):  # a check of our own that speaks to the operator
        return EX_FAILED, first_line(e)
    return (
        EX_SOFTWARE,
        f"internal error ({type(e).__name__}: {first_line(e)}); {ENV_DEBUG}=1 shows the traceback",
    )


def first_line(e: BaseException) -> str:
    """The exception's message on one line, at most 500 characters (its type's name when empty)."""
    text = " ".join(str(e).split()) if str(e) else type(e).__name__
    return text[:500]


def _say(prog: str, message: str) -> None:
    try:
        print(f"{prog}: {redact(message)}", file=sys.stderr, flush=True)
    except OSError:
        pass  # stderr itself is gone: nothing left to tell


def _silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class RedactSecrets(logging.Filter):
    """Masks passwords in a log record (message, arguments and traceback) before it is shown."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrites the record with passwords masked; always keeps it."""
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def guard_logging(handlers: list[logging.Handler] | None = None, *filters: Any) -> None:
    """Add the secret mask (and `filters`) to the root logger's handlers, once each."""
    for handler in handlers if handlers is not None else logging.getLogger().handlers:
        for f in (RedactSecrets(), *filters):
            if not any(type(have) is type(f) for have in handler.filters):
                handler.addFilter(f)
