"""Hypothesis strategies: real corpus pages, mutated as the web and bad saves mutate them.

A case is one real page (the corpus, read from outside the repository, and our hand-written
fixtures) put through one to three mutations and handed to parsers:

- structure: a node cut out, duplicated (a node of at most a fifth of the page), the children
  of a node shuffled, a node wrapped in up to 3,000 nested elements, the text or an attribute of
  a node replaced by drawn text (any Unicode, or date-like strings in Korean formats);
- bytes: cut at any point (mid-tag, mid-character), a byte range spliced out, invalid or NUL
  bytes inserted, a byte-order mark put in front;
- encodings: the page re-encoded as CP949 (its meta tag kept or corrected), its meta charset
  relabelled, and the HTTP charset the parser is told drawn from right, wrong and unknown ones.

Every case is parsed twice: by the parser of its own site and kind (its own URL), and by a
drawn parser (article, search or list; any site module or the generic one, chosen by URL).
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import lxml.html
from hypothesis import strategies as st
from lxml import etree

from crawler.domain.dates import KST
from crawler.domain.portals import GENERIC, PORTALS
from crawler.parsers.page import decode_html
from tests.conftest import FIXTURES
from tests.corpus import corpus_pages

# One address per site module (the registry picks the module by host), and one the generic
# parser gets (no site parser for the host).
SITE_URLS = {
    "naver": "https://n.news.naver.com/mnews/article/001/0014000001?sid=101",
    "naver-search": "https://search.naver.com/search.naver?where=news&query=%EB%89%B4%EC%8A%A4",
    "naver-list": "https://news.naver.com/main/list.naver?mode=LSD&mid=sec&sid1=101",
    "daum": "https://v.daum.net/v/20250101000000001",
    "daum-search": "https://search.daum.net/search?w=news&q=%EB%89%B4%EC%8A%A4",
    "seoul": "https://www.seoul.co.kr/news/society/2025/01/01/20250101500001",
    "seoul-search": "https://search.seoul.co.kr/index.php?keyword=%EB%89%B4%EC%8A%A4",
    "hankookilbo": "https://www.hankookilbo.com/News/Read/A2025010110000000001",
    "mk": "https://www.mk.co.kr/news/economy/11000001",
    "chosun": "https://www.chosun.com/economy/2025/01/01/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
    "daejonilbo": "http://m.daejonilbo.com/mnews.asp?pk_no=1500001",
    "yna": "https://www.yna.co.kr/view/AKR20250101000100001",
    "yna-list": "https://www.yna.co.kr/economy/all",
    "generic": "https://www.example.co.kr/news/articleView.html?idxno=100001",
}
assert {k.split("-")[0] for k in SITE_URLS} == {*(p.key for p in PORTALS), GENERIC}
KINDS = ("article", "search", "list")
CHARSETS = (None, "utf-8", "euc-kr", "cp949", "ks_c_5601-1987", "latin-1", "utf-16", "x-bogus")


@dataclass(frozen=True, slots=True)
class Source:
    """A real page: its bytes, the URL it was served at and its kind."""

    name: str
    url: str
    kind: str
    body: bytes


def sources() -> list[Source]:
    """The corpus pages (if the corpus is there) and the hand-written fixtures."""
    out = [
        Source(p.site + "/" + p.name, p.url, p.kind, p.path.read_bytes())
        for p in corpus_pages()
        if p.path.exists()
    ]
    for path in sorted(FIXTURES.glob("*/*.html")):
        site = path.parent.name
        kind = "search" if "search" in path.stem else "list" if "list" in path.stem else "article"
        key = f"{site}-{kind}" if f"{site}-{kind}" in SITE_URLS else site
        out.append(Source(f"fixtures/{site}/{path.stem}", SITE_URLS[key], kind, path.read_bytes()))
    return out


@dataclass(slots=True)
class Case:
    """A mutated page and the parses to run on it."""

    source: str
    body: bytes
    charset: str | None  # what the HTTP header would say
    ops: list[str] = field(default_factory=list)
    targets: list[tuple[str, str]] = field(default_factory=list)  # (kind, url)
    fetched_at: datetime | None = None

    def describe(self) -> str:
        return f"{self.source} [{', '.join(self.ops)}] charset={self.charset}"


# -- mutations ---------------------------------------------------------------------------------
Draw = Callable[[st.SearchStrategy], object]

DATEISH = st.from_regex(
    r"(기사입력|입력|수정|승인)? ?\d{1,5}[.\-/년] ?\d{1,3}[.\-/월] ?\d{1,3}[.일]? ?"
    r"(오전|오후|AM|PM)? ?\d{1,3}:\d{1,3}(:\d{1,3})?",
    fullmatch=True,
)
TEXT = st.one_of(st.text(max_size=80), DATEISH, st.sampled_from(["", " ", "\x00", "\ufffd"]))


def _tree(body: bytes) -> etree._Element | None:
    text = decode_html(body)[0]
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)
    if not text.strip():
        return None
    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return None


def _serialize(tree: etree._Element) -> bytes:
    return lxml.html.tostring(tree, encoding="utf-8", doctype="<!DOCTYPE html>")


def _element(draw: Draw, tree: etree._Element) -> etree._Element | None:
    nodes = [e for e in tree.iter() if isinstance(e.tag, str) and e.getparent() is not None]
    if not nodes:
        return None
    return nodes[draw(st.integers(0, len(nodes) - 1))]


def op_drop(draw: Draw, body: bytes) -> tuple[bytes, str]:
    tree = _tree(body)
    node = _element(draw, tree) if tree is not None else None
    if node is None or node.tag in ("body", "head"):
        return body, "drop(none)"
    node.drop_tree()
    return _serialize(tree), f"drop <{node.tag}>"


def op_duplicate(draw: Draw, body: bytes) -> tuple[bytes, str]:
    tree = _tree(body)
    node = _element(draw, tree) if tree is not None else None
    if node is None or node.tag in ("body", "head"):
        return body, "duplicate(none)"
    if len(etree.tostring(node)) > max(20_000, len(body) // 5):
        return body, f"duplicate(<{node.tag}> too large)"
    times = draw(st.integers(1, 3))
    for _ in range(times):
        node.addnext(copy.deepcopy(node))
    return _serialize(tree), f"duplicate <{node.tag}> x{times}"


def op_shuffle(draw: Draw, body: bytes) -> tuple[bytes, str]:
    tree = _tree(body)
    if tree is None:
        return body, "shuffle(none)"
    parents = [e for e in tree.iter() if isinstance(e.tag, str) and len(e) >= 2]
    if not parents:
        return body, "shuffle(none)"
    node = parents[draw(st.integers(0, len(parents) - 1))]
    children = list(node)
    random.Random(draw(st.integers(0, 2**32))).shuffle(children)
    for c in children:
        node.append(c)  # moves it to the end, in the new order
    return _serialize(tree), f"shuffle <{node.tag}> ({len(children)})"


def op_nest(draw: Draw, body: bytes) -> tuple[bytes, str]:
    tree = _tree(body)
    node = _element(draw, tree) if tree is not None else None
    if node is None or node.tag in ("body", "head", "html"):
        return body, "nest(none)"
    depth = draw(st.integers(2, 3000))
    parent, outer = node.getparent(), lxml.html.Element("div")
    inner = outer
    for _ in range(depth - 1):
        inner = etree.SubElement(inner, "div")
    node.addprevious(outer)
    inner.append(node)  # moves node (its tail stays with it)
    assert parent is not None
    return _serialize(tree), f"nest <{node.tag}> in {depth}"


def op_text(draw: Draw, body: bytes) -> tuple[bytes, str]:
    tree = _tree(body)
    node = _element(draw, tree) if tree is not None else None
    if node is None:
        return body, "text(none)"
    value = _clean_xml(draw(TEXT))
    if node.attrib and draw(st.booleans()):
        name = sorted(node.attrib)[draw(st.integers(0, len(node.attrib) - 1))]
        node.set(name, value)
        return _serialize(tree), f"attr {node.tag}@{name}={value[:20]!r}"
    node.text = value
    return _serialize(tree), f"text <{node.tag}>={value[:20]!r}"


def _clean_xml(s: str) -> str:
    """lxml refuses control characters and surrogates in text: drop those (bytes ops insert
    raw invalid bytes instead)."""
    return (
        "".join(
            c for c in s if c in "\t\n\r" or (ord(c) >= 0x20 and not 0xD800 <= ord(c) <= 0xDFFF)
        )
        .replace("\ufffe", "")
        .replace("\uffff", "")
    )


def op_cut(draw: Draw, body: bytes) -> tuple[bytes, str]:
    at = draw(st.integers(0, len(body)))
    return body[:at], f"cut at {at}/{len(body)}"


def op_splice(draw: Draw, body: bytes) -> tuple[bytes, str]:
    a = draw(st.integers(0, len(body)))
    b = draw(st.integers(a, min(len(body), a + 5000)))
    return body[:a] + body[b:], f"splice {a}:{b}"


def op_bytes(draw: Draw, body: bytes) -> tuple[bytes, str]:
    junk = draw(
        st.one_of(
            st.binary(min_size=1, max_size=16),
            st.sampled_from([b"\xff", b"\x80", b"\xea", b"\xea\xb0", b"\x00", b"\x00" * 8]),
        )
    )
    at = draw(st.integers(0, len(body)))
    return body[:at] + junk + body[at:], f"insert {junk[:8]!r} at {at}"


def op_bom(draw: Draw, body: bytes) -> tuple[bytes, str]:
    bom = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]))
    return bom + body, f"bom {bom!r}"


_META = re.compile(rb"(<meta[^>]*charset\s*=\s*[\"']?)([\w-]+)", re.I)


def op_cp949(draw: Draw, body: bytes) -> tuple[bytes, str]:
    text = decode_html(body)[0]
    out = text.encode("cp949", errors="xmlcharrefreplace")
    if draw(st.booleans()):
        out = _META.sub(rb"\1euc-kr", out)
        return out, "as cp949 (meta euc-kr)"
    return out, "as cp949 (meta kept)"


def op_relabel(draw: Draw, body: bytes) -> tuple[bytes, str]:
    label = draw(st.sampled_from(["euc-kr", "utf-8", "iso-8859-1", "utf-16", "x-nonsense", ""]))
    return _META.sub(rb"\g<1>" + label.encode(), body), f"meta charset={label!r}"


STRUCTURE = (op_drop, op_duplicate, op_shuffle, op_nest, op_text)
BYTES = (op_cut, op_splice, op_bytes, op_bom)
ENCODINGS = (op_cp949, op_relabel)
OPS = (*STRUCTURE, *STRUCTURE, *BYTES, *ENCODINGS)  # structure drawn twice as often


@st.composite
def cases(draw: Draw, pool: tuple[Source, ...]) -> Case:
    src = draw(st.sampled_from(pool))
    body = src.body
    ops = []
    for op in draw(st.lists(st.sampled_from(OPS), min_size=1, max_size=3)):
        body, what = op(draw, body)
        ops.append(what)
    charset = draw(st.sampled_from(CHARSETS))
    kind = draw(st.sampled_from(KINDS))
    site = draw(st.sampled_from(sorted(SITE_URLS)))
    fetched = draw(st.sampled_from([None, datetime(2026, 1, 1, 12, 0, tzinfo=KST)]))
    targets = [(src.kind, src.url), (kind, SITE_URLS[site])]
    return Case(src.name, body, charset, ops, targets, fetched)
