"""The cut-document rule (crawler.middlewares.retry.cut_reason) against every real page.

A whole page must never be judged cut: every corpus page and every hand-written fixture, as
saved and with its `</body>`/`</html>` removed (HTML lets a page omit them). A page cut before
its `</body>` should be judged cut; the rule's recall on 199 cut points per page is measured
and must stay high.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.middlewares.retry import cut_reason
from tests.conftest import FIXTURES
from tests.corpus import corpus_dir


def real_pages() -> list[Path]:
    root = corpus_dir()
    return sorted(root.glob("*/*.html")) + sorted(FIXTURES.glob("*/*.html"))


def without_end_tags(body: bytes) -> bytes:
    out = body.rstrip()
    for tag in (b"</html>", b"</body>"):
        i = out.lower().rfind(tag)
        if i >= 0:
            out = out[:i] + out[i + len(tag) :]
    return out


PAGES = real_pages()


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.parent.name + "/" + p.stem)
def test_a_whole_real_page_is_never_judged_cut(path):
    body = path.read_bytes()
    assert cut_reason(body) is None
    assert cut_reason(without_end_tags(body)) is None  # end tags legitimately omitted
    assert cut_reason(body + b"\n\n") is None


def test_the_rule_finds_almost_every_cut_of_the_real_pages():
    corpus = [p for p in PAGES if corpus_dir() in p.parents]
    if not corpus:
        pytest.skip("corpus not found")
    cuts = found = 0
    for path in corpus:
        body = path.read_bytes()
        end = body.lower().rfind(b"</body")
        for k in range(1, 200):
            at = len(body) * k // 200
            if at >= end:
                continue  # cut after </body>: the content is whole
            cuts += 1
            found += cut_reason(body[:at]) is not None
    # measured: 10,400+ cuts, 97.8% found; the misses end between top-level blocks
    assert cuts > 5000
    assert found / cuts > 0.95, f"{found}/{cuts}"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'<html><body><div><p>text</p><div class="a', "ends inside a tag"),
        (b"<html><body><div>x</div><", "ends inside a tag"),
        (b"<html><body><div>x</div><!-- a comment", "ends inside a comment"),
        (b"<html><body><div>x</div><script>var a = 1;", "ends inside <script>"),
        (b"<!DOCTYPE html><html><head><title>t</title><meta charset=utf-8>", "before its <body>"),
        (b"<html><body><div><div><span>cut in the midd", "3 elements left open"),
    ],
)
def test_cut_documents(body, why):
    assert why in (cut_reason(body) or "")


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body><div><p>all here</p></div></body></html>",
        b"<!DOCTYPE html><html><body><div><p>end tags omitted</p></div>",  # legitimate
        b"<html><body><div>one stray open div<p>text",  # sloppy, within one element
        b'{"json": "<html><body><div>"}',  # not a document
        b"<div><span>a fragment, cut",  # a fragment: not judged
        b"<html><body><p>a < b</p></body></html>",
        b"<html><body><script>document.write('<script src=x></scr'+'ipt>')</script></body></html>",
    ],
)
def test_whole_or_not_judged(body):
    assert cut_reason(body) is None


def test_truncation_judges_whole_2xx_html_answers_only():
    from scrapy.http import HtmlResponse, Request, TextResponse

    from crawler.middlewares.retry import PARTIAL_OK_META, truncation

    url = "https://news.example.com/a"
    cut = b"<html><body><div><div><span>cut"
    assert "left open" in truncation(Request(url), HtmlResponse(url, body=cut))
    assert truncation(Request(url), HtmlResponse(url, body=b"")) == "empty body"
    assert truncation(Request(url), HtmlResponse(url, body=b"x", flags=["dataloss"]))
    assert (
        truncation(Request(url, meta={PARTIAL_OK_META: True}), HtmlResponse(url, body=b"")) is None
    )
    assert truncation(Request(url), HtmlResponse(url, status=404, body=cut)) is None
    assert truncation(Request(url), TextResponse(url, body=b"")) is None  # not HTML
    assert truncation(Request(url, method="HEAD"), HtmlResponse(url, body=b"")) is None
