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
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from crawler.domain.dates import parse_date_arg
from crawler.domain.portals import SEARCH_SPIDERS
from crawler.errors import UsageError

# Spiders whose items are search hits: only they have something to store without articles.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
BOOLEANS = ("0", "1", "true", "false", "yes", "no", "on", "off")


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
    """A --pages value: a whole number, 0 meaning every page; ValueError otherwise."""
    return whole_number(text, 0, "every page")


def positive(text: str) -> int:
    """A whole number of at least 1; ValueError otherwise."""
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


def web_address(text: str) -> str:
    """An absolute http(s) URL; ValueError in words otherwise."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text!r} is not an http(s) address")
    return text.strip()


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
    for url in str(kwargs.get("url") or "").split(","):
        if url.strip():
            try:
                web_address(url)
            except ValueError as e:
                raise UsageError(f"{flag('url')}: {e}") from None
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


def check_overrides(pairs: Mapping[str, str], defaults: Any, flag: str = "-s") -> None:
    """UsageError unless each `-s NAME=VALUE` fits the type of the setting's default.

    Scrapy reads settings lazily, so `-s CONCURRENT_REQUESTS=abc` would otherwise fail deep
    inside the engine, with a traceback, after the run had started.
    """
    for name, value in pairs.items():
        default = defaults.get(name)
        text = str(value).strip()
        wrong = None
        if name == "LOG_LEVEL" and text.upper() not in LOG_LEVELS:
            wrong = f"one of {', '.join(LOG_LEVELS)}"
        elif isinstance(default, bool):
            wrong = None if text.lower() in BOOLEANS else "true or false"
        elif isinstance(default, int):
            wrong = _unless(int, text, "a whole number")
        elif isinstance(default, float):
            wrong = _unless(float, text, "a number")
        if wrong:
            raise UsageError(f"{flag} {name}={value!r}: want {wrong}")


def _unless(convert: Callable[[str], Any], text: str, want: str) -> str | None:
    try:
        convert(text)
    except ValueError:
        return want
    return None
