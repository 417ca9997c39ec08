"""Naver's JSON answers, written at test time from the real saved pages of the corpus.

Nothing third-party is committed: the loader's answers take the result blocks of the two real
search pages as their `html` (and the renderer scripts that came with them as their `script`),
and the section feed's blocks take the real section page's `ul.sa_list` groups, their links
moved to fresh article ids so that each block brings new articles.

The domsave search page is a browser's DOM after one scroll: its result list holds the page's
own block (rendered from the minified start-up script after the section) and the block the
loader inserted, followed by that block's script (the JSON start-up call). Those are exactly
the two halves of a loader answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import lxml.html

from crawler.domain.urls import naver_ids
from crawler.parsers import Page, parse_search
from tests.conftest import FIXTURES
from tests.e2e.replaykit import corpus_file

PAYHERE = "naver-search/naver_search_news_payhere_2025.html"
BSIDE = "naver-search/naver_search_news_bside_2025_domsave.html"
SECTION = "naver-list/naver_section100_20260530.html"
SECTION_URL = "https://news.naver.com/section/100"


@dataclass(frozen=True)
class Block:
    """One block of results as the loader would answer it."""

    html: str
    script: str
    urls: tuple[str, ...]  # the result links, in order (the gold's `url`s)
    dates: tuple[str, ...]  # the dates shown on them


def _tree(rel: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(corpus_file(rel).read_bytes().decode("utf-8"))


def _gold(rel: str) -> dict:
    return json.loads(corpus_file(rel.replace(".html", ".expected.json")).read_text("utf-8"))


def search_blocks() -> dict[str, Block]:
    """The real result blocks: `payhere` (a page's own block), `bside1` (the domsave page's own
    block) and `bside2` (the block its loader inserted), each with its renderer script."""
    out = {}
    for name, rel in (("payhere", PAYHERE), ("bside", BSIDE)):
        tree = _tree(rel)
        gold = _gold(rel)["results"]
        ul = tree.cssselect("ul.list_news")[0]
        blocks = [el for el in ul if el.tag == "div"]
        scripts = {id(s): s for s in tree.iter("script")}
        for i, div in enumerate(blocks):
            root = div.get("id")
            script = next(
                s for s in scripts.values() if s.text and f'getElementById("{root}")' in s.text
            )
            ranks = gold[i * 10 : (i + 1) * 10]
            key = name if len(blocks) == 1 else f"{name}{i + 1}"
            out[key] = Block(
                html=lxml.html.tostring(div, encoding="unicode"),
                script=lxml.html.tostring(script, encoding="unicode"),
                urls=tuple(r["url"] for r in ranks),
                dates=tuple(r["published"] for r in ranks),
            )
    return out


def loader_url(rel: str) -> str:
    """The loader URL the real page carries (start=11)."""
    url = parse_search(Page(url="https://search.naver.com/search.naver", body=page_bytes(rel)))
    assert url.next_url and "start=11" in url.next_url
    return url.next_url


def page_bytes(rel: str) -> bytes:
    return corpus_file(rel).read_bytes()


def at_start(url: str, start: int) -> str:
    """A loader URL with another `start` (what Naver's own answers give as the next URL)."""
    parts = urlsplit(url)
    q = [(k, str(start) if k == "start" else v) for k, v in parse_qsl(parts.query, True)]
    return urlunsplit(parts._replace(query=urlencode(q)))


def answer(block: Block | None, next_url: str | None) -> bytes:
    """A loader answer: the block as `collection[0]`, and the next URL when there is one."""
    coll = [{"html": block.html if block else "", "script": block.script if block else ""}]
    body: dict = {"collection": coll}
    if next_url:
        body["url"] = next_url
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


# -- sections ----------------------------------------------------------------------------------
def section_page() -> bytes:
    return page_bytes(SECTION)


def section_links() -> list[str]:
    return _gold(SECTION)["links"]


def section_groups() -> list[str]:
    """The real feed's `ul.sa_list` groups (six items each) as HTML."""
    tree = _tree(SECTION)
    feed = tree.xpath("//*[@data-cursor]")[0]
    return [lxml.html.tostring(ul, encoding="unicode") for ul in feed.cssselect("ul.sa_list")]


_ARTICLE = re.compile(r"https://n\.news\.naver\.com/mnews/article/(\d{3})/(\d{10})")


def relink(html: str, first_aid: int) -> tuple[str, list[str]]:
    """The group with each article moved to oid 999 and a fresh aid; (html, new links)."""
    mapping: dict[str, str] = {}
    for m in _ARTICLE.finditer(html):
        if m.group(0) not in mapping:
            aid = first_aid + len(mapping)
            mapping[m.group(0)] = f"https://n.news.naver.com/mnews/article/999/{aid:010d}"
    out = _ARTICLE.sub(lambda m: mapping[m.group(0)], html)
    return out, list(mapping.values())


def feed_block(template: str, groups: list[str], cursor: str | None, page_no: int) -> bytes:
    """A feed block as `/section/template/…` answers it: the groups in the cursor's box."""
    more = (
        f'data-has-next="true" data-cursor-name="next" data-cursor="{cursor}"'
        if cursor
        else 'data-has-next="false" data-cursor-name="next" data-cursor=""'
    )
    html = f'<div class="section_article _TEMPLATE" {more} data-page-no="{page_no}">'
    html += "".join(groups) + "</div>"
    return json.dumps({"renderedComponent": {template: html}}, ensure_ascii=False).encode()


def story(url: str, i: int) -> bytes:
    """Our own mnews fixture as the i-th distinct article of the Naver article `url`."""
    ids = naver_ids(url)
    assert ids, url
    oid, aid = ids
    text = (FIXTURES / "naver" / "mnews_two_reporters.html").read_text("utf-8")
    text = text.replace("999/0000000042", f"{oid}/{aid}")
    text = text.replace("example.com/news/42", f"example.com/news/{oid}{aid}")  # its original
    text = text.replace("시험 기사 제목", f"시험 기사 제목 {i}번")
    text = text.replace(
        "첫 문단입니다.", f"{i}번째 기사의 첫 문단은 {i * 7}개의 낱말로 시작합니다."
    )
    return text.encode("utf-8")
