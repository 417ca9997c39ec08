"""What Naver's article, search and list readers share: the portal key and three markup tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crawler.domain.urls import naver_ids
from crawler.parsers.dom import text_of

PORTAL = "naver"


def has_class(name: str) -> str:
    """XPath test for one class among several (what CSS `.name` compiles to)."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def first_text(nodes: Iterable[Any]) -> str:
    """The text of the first of `nodes` that has any."""
    for n in nodes:
        v = text_of(n)
        if v:
            return v
    return ""


def is_naver_copy(href: str) -> bool:
    """A Naver article address (n.news, m.entertain, m.sports), not a press or profile page."""
    return ("/article/" in href or "aid=" in href) and naver_ids(href) is not None
