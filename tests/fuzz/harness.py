"""Run the parsers on a fuzz case and keep the score: outcomes, unexpected exceptions, the
slowest parse (CPU time of the parsing thread, so other processes on the machine do not count).

Only `ParseError` (and its `NotAnArticle`) may leave a parser; anything else is a bug, and so
is a parse slower than MAX_SECONDS.
"""

from __future__ import annotations

import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from crawler.parsers import NotAnArticle, Page, ParseError, parse_list, parse_search
from tests.corpus import extract_article
from tests.fuzz.mutate import Case

MAX_SECONDS = 1.0
PARSE = {"article": extract_article, "search": parse_search, "list": parse_list}


@dataclass
class Tally:
    cases: int = 0
    parses: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    unexpected: list[dict[str, str]] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")

    def merge(self, other: dict[str, Any]) -> None:
        self.cases += other["cases"]
        self.parses += other["parses"]
        self.outcomes.update(other["outcomes"])
        self.unexpected += other["unexpected"]
        if other["slowest"][0] > self.slowest[0]:
            self.slowest = tuple(other["slowest"])  # type: ignore[assignment]

    def to_json(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "parses": self.parses,
            "outcomes": dict(self.outcomes),
            "unexpected": self.unexpected,
            "slowest": list(self.slowest),
        }


class Unexpected(AssertionError):
    """A parser raised something other than ParseError, or took too long."""


def run_case(case: Case, tally: Tally, *, strict: bool, limit: float = MAX_SECONDS) -> None:
    """Parse the case with each of its targets; with `strict`, raise on the first problem
    (an unexpected exception, or a parse over `limit` CPU seconds)."""
    tally.cases += 1
    for kind, url in case.targets:
        page = Page(url=url, body=case.body, encoding=case.charset, fetched_at=case.fetched_at)
        where = f"{kind} parser at {url} on {case.describe()}"
        started = time.thread_time()
        try:
            PARSE[kind](page)
            outcome = "parsed"
        except NotAnArticle:
            outcome = "NotAnArticle"
        except ParseError:
            outcome = "ParseError"
        except Exception as e:
            outcome = "unexpected"
            tally.unexpected.append(
                {
                    "error": f"{type(e).__name__}: {str(e)[:200]}",
                    "where": where,
                    "traceback": "".join(traceback.format_exception(e)[-4:]),
                }
            )
            if strict:
                raise Unexpected(f"{type(e).__name__} from the {where}") from e
        took = time.thread_time() - started
        tally.parses += 1
        tally.outcomes[outcome] += 1
        if took > tally.slowest[0]:
            tally.slowest = (took, where)
        if strict and took > limit:
            raise Unexpected(f"{took:.2f} s CPU for the {where}")
