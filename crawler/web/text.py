"""Text for people: highlighted search terms, KST times, paragraphs, the change between versions.

Pure functions, shared by the web pages and `sosik show`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple
from urllib.parse import unquote

from markupsafe import Markup, escape

from crawler.domain.dates import KST

_WORDS = re.compile(r"\S+|\s+")


def kst(moment: datetime | None, seconds: bool = False) -> str:
    """`2026-11-30 14:03 KST` (the reader's clock), `-` for no time."""
    if moment is None:
        return "-"
    return moment.astimezone(KST).strftime(
        "%Y-%m-%d %H:%M:%S KST" if seconds else "%Y-%m-%d %H:%M KST"
    )


def duration(seconds: float) -> str:
    """A span for people, in Korean units: `45초`, `12분`, `3.5시간`, `42일`."""
    s = abs(seconds)
    if s < 60:
        return f"{s:.0f}초"
    if s < 3600:
        return f"{s / 60:.0f}분"
    if s < 86400:
        return f"{s / 3600:.1f}시간"
    return f"{s / 86400:.0f}일"


def readable_url(url: str) -> str:
    """The URL with its percent-escapes decoded for reading (검색어, not %EA%B2%80…)."""
    return unquote(url)


def highlight(text: str | None, terms: Iterable[str]) -> Markup:
    """`text` HTML-escaped, every occurrence of a term (case-insensitive) in <mark>; touching
    occurrences share one (전기 and 버스 in 전기버스: one mark). Longer terms win where terms
    overlap (삼성전자 over 삼성)."""
    text = text or ""
    words = sorted({t for t in terms if t and t.strip()}, key=len, reverse=True)
    if not words:
        return Markup(escape(text))
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    spans: list[list[int]] = []
    for m in pattern.finditer(text):
        if spans and spans[-1][1] == m.start():
            spans[-1][1] = m.end()
        else:
            spans.append([m.start(), m.end()])
    out, last = [], 0
    for start, end in spans:
        out.append(escape(text[last:start]))
        out.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        last = end
    out.append(escape(text[last:]))
    return Markup("").join(out)


def paragraphs(body: str | None) -> list[str]:
    """The body's paragraphs: its non-empty lines, stripped."""
    return [p.strip() for p in (body or "").split("\n") if p.strip()]


class Piece(NamedTuple):
    """A run of text in a comparison: `same`, `added` (only in the newer) or `removed`."""

    change: str
    text: str


def compare(old: str | None, new: str | None) -> list[list[Piece]]:
    """The newer text's paragraphs with what changed from the older: paragraphs added or
    removed whole are one piece; a paragraph rewritten is compared word by word."""
    a, b = paragraphs(old), paragraphs(new)
    out: list[list[Piece]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out += [[Piece("same", p)] for p in b[j1:j2]]
        elif op == "replace" and i2 - i1 == j2 - j1:
            out += [_words(x, y) for x, y in zip(a[i1:i2], b[j1:j2], strict=True)]
        else:
            out += [[Piece("removed", p)] for p in a[i1:i2]]
            out += [[Piece("added", p)] for p in b[j1:j2]]
    return out


def _words(old: str, new: str) -> list[Piece]:
    x, y = _WORDS.findall(old), _WORDS.findall(new)
    pieces: list[Piece] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, x, y, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append(Piece("same", "".join(y[j1:j2])))
            continue
        if i2 > i1:
            pieces.append(Piece("removed", "".join(x[i1:i2])))
        if j2 > j1:
            pieces.append(Piece("added", "".join(y[j1:j2])))
    return pieces


def changed(pieces: list[list[Piece]]) -> bool:
    """True when any piece of the diff is added or removed (the two texts differ)."""
    return any(p.change != "same" for para in pieces for p in para)
