"""A crawl's arguments checked once, the same way for `sosik crawl --flag` and `scrapy crawl -a`.

Each value is read by one function (`whole_number`, `day`) that says in words what is wrong;
argparse types for the flags are built from them (`flag_type`), and `check_spider_args` runs
the same readers on spider arguments, then the checks across arguments (a window that ends
before it starts, `--no-articles` on a crawl that stores nothing else), then the spider's own
constructor, so a spider's own refusal (an unknown section) is one line too. Errors are
UsageError naming the flag as the operator wrote it (`--pages` or `-a pages`) and the value.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from typing import Any

from crawler.dates import parse_date_arg
from crawler.errors import UsageError

# Spiders whose items are search hits: only they have something to store without articles.
SEARCH_SPIDERS = ("naver", "daum", "seoul")


def whole_number(text: str, minimum: int = 0, zero: str = "") -> int:
    """`text` as an integer >= `minimum`; ValueError in words otherwise."""
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None
    if value < minimum:
        meaning = f" ({minimum} = {zero})" if zero else ""
        raise ValueError(f"{text!r} is below {minimum}{meaning}")
    return value


def pages(text: str) -> int:
    return whole_number(text, 0, "every page")


def positive(text: str) -> int:
    return whole_number(text, 1)


def day(text: str) -> date:
    """A date as YYYY-MM-DD (or YYYYMMDD, YYYY.MM.DD); ValueError in words otherwise."""
    try:
        return parse_date_arg(text)
    except ValueError as e:
        why = str(e)
        if why.startswith("not a date"):
            raise ValueError(f"{text!r} is not a date (want YYYY-MM-DD)") from None
        raise ValueError(f"{text!r} is not a date: {why}") from None


def flag_type(read: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse `type=` from a reader: its ValueError becomes argparse's one-line error."""

    def convert(text: str) -> Any:
        try:
            return read(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    convert.__name__ = read.__name__
    return convert


def sosik_flag(name: str) -> str:
    """How `sosik crawl` spells a spider argument."""
    return {"articles": "--no-articles"}.get(name, f"--{name}")


def scrapy_flag(name: str) -> str:
    """How `scrapy crawl` spells a spider argument."""
    return f"-a {name}"


def check_spider_args(
    spidercls: type, kwargs: dict[str, Any], flag: Callable[[str], str] = sosik_flag
) -> None:
    """UsageError (one line, naming the flag and value) unless the spider can run with these."""
    name = getattr(spidercls, "name", "?")
    readers: dict[str, Callable[[str], Any]] = {"pages": pages, "since": day, "until": day}
    readers["date"] = day
    values: dict[str, Any] = {}
    for key, read in readers.items():
        if kwargs.get(key) not in (None, ""):
            try:
                values[key] = read(str(kwargs[key]))
            except ValueError as e:
                raise UsageError(f"{flag(key)}: {e}") from None
    since, until = values.get("since"), values.get("until")
    if since and until and since > until:
        raise UsageError(
            f"{flag('since')} {since} is after {flag('until')} {until}: the window is empty"
        )
    if str(kwargs.get("articles", "1")).lower() in ("0", "false", "no", "off"):
        if name not in SEARCH_SPIDERS:
            raise UsageError(
                f"{flag('articles')}: {name} stores articles only; search hits without "
                f"articles come from {', '.join(SEARCH_SPIDERS)}"
            )
    try:
        spidercls(**kwargs)  # the spider's own checks (sections, required arguments)
    except (ValueError, TypeError) as e:
        raise UsageError(f"{name}: {e}") from None
