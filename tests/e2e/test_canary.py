"""`sosik canary` against a replayed page set: healthy → exit 0 and a state of what read;
one page's layout broken → exit 2 naming the page and the field (through the real engine, as
an operator runs it; no database is involved).

Pages: the real Naver search page and its loader's next block, the real 2026 section page and
its next feed block, a real Naver article behind the section's first link, the real Daum
search page and a real Daum article behind its first result. The JSON blocks are written at
test time from the real pages (naverkit).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from crawler.spiders.naver import search_url
from tests.e2e import naverkit as k
from tests.e2e.replaykit import REPO, ReplayFolder, corpus_file

pytestmark = pytest.mark.e2e

BLOCK2 = (
    "https://news.naver.com/section/template/SECTION_ARTICLE_LIST"
    "?sid=100&sid2=&cluid=&pageNo=2&date=&next=20260530010909"
)
DAUM_SEARCH = "https://search.daum.net/search?w=news&q=%EC%86%90%ED%9D%A5%EB%AF%BC&sort=recency"
SET = f"""
[[page]]
name = "naver-search"
kind = "search"
url = "{search_url("페이히어", 1)}"
expect = ["count"]            # the rest is learnt: whatever reads today must read tomorrow

[[page]]
name = "naver-search-more"
kind = "search"
after = "naver-search"
follow = "next"
xhr = true
expect = ["count", "title", "url", "publisher", "published"]

[[page]]
name = "naver-section"
kind = "list"
url = "{k.SECTION_URL}"
expect = ["count", "next"]

[[page]]
name = "naver-section-more"
kind = "list"
after = "naver-section"
follow = "next"
xhr = true

[[page]]
name = "naver-article"
kind = "article"
after = "naver-section"
follow = "first"
expect = ["count", "title", "body", "published_at", "publisher"]

[[page]]
name = "daum-search"
kind = "search"
url = "{DAUM_SEARCH}"
expect = ["count", "title", "url", "publisher", "published"]

[[page]]
name = "daum-article"
kind = "article"
after = "daum-search"
follow = "first"
"""


def replay(tmp_path, name: str, broken: dict[str, bytes] | None = None):
    blocks = k.search_blocks()
    loader = k.loader_url(k.PAYHERE)
    group, _ = k.relink(k.section_groups()[0], 1)
    daum_first = json.loads(
        corpus_file("daum-search/daum_search_news_sonheungmin_2026.expected.json").read_text()
    )["results"][0]["url"]
    pages = {
        search_url("페이히어", 1): k.page_bytes(k.PAYHERE),
        loader: k.answer(blocks["bside2"], k.at_start(loader, 21)),
        k.SECTION_URL: k.section_page(),
        BLOCK2: k.feed_block("SECTION_ARTICLE_LIST", [group], "20260530000001", 2),
        k.section_links()[0]: k.page_bytes("naver-article/naver_018_0005316196_2022.html"),
        DAUM_SEARCH: k.page_bytes("daum-search/daum_search_news_sonheungmin_2026.html"),
        daum_first: k.page_bytes("daum-article/daum_v_20180516162315753.html"),
        **(broken or {}),
    }
    folder = ReplayFolder(tmp_path / name)
    for url, body in pages.items():
        folder.add(url, body)
    return folder.write()


def canary(tmp_path, folder, state) -> subprocess.CompletedProcess[str]:
    (tmp_path / "set.toml").write_text(SET, "utf-8")
    cmd = [sys.executable, "-m", "crawler.cli", "canary", "--pages", str(tmp_path / "set.toml")]
    cmd += ["--replay", str(folder), "--state", str(state)]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


def row(out: str, name: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if line.startswith(name + " "))


def test_healthy_set_reads_and_remembers_what_read(tmp_path):
    state = tmp_path / "canary.json"
    result = canary(tmp_path, replay(tmp_path, "ok"), state)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert row(result.stdout, "naver-search")[:4] == ["naver-search", "200", "naver.search", "10"]
    assert row(result.stdout, "naver-search-more")[:4] == [
        "naver-search-more", "200", "naver.search/json", "10",
    ]  # fmt: skip
    assert row(result.stdout, "naver-section")[2:4] == ["naver.list", "46"]
    assert row(result.stdout, "naver-section-more")[2:4] == ["naver.list/json", "6"]
    assert row(result.stdout, "naver-article")[2] == "naver.mnews/1"
    assert row(result.stdout, "daum-search")[2:4] == ["daum.search", "10"]
    assert row(result.stdout, "daum-article")[2] == "daum.v/1"
    saved = json.loads(state.read_text("utf-8"))["pages"]
    assert set(saved) == {
        "naver-search", "naver-search-more", "naver-section", "naver-section-more",
        "naver-article", "daum-search", "daum-article",
    }  # fmt: skip
    assert saved["naver-search"]["fields"]["published"]["share"] == 1.0
    assert saved["naver-search"]["fields"]["next"]["share"] == 1.0


def test_a_broken_block_and_a_lost_field_exit_2_naming_page_and_field(tmp_path):
    state = tmp_path / "canary.json"
    assert canary(tmp_path, replay(tmp_path, "ok"), state).returncode == 0
    group, _ = k.relink(k.section_groups()[0], 1)
    block = k.feed_block("SECTION_ARTICLE_LIST", [group], "20260530000001", 2)
    page = k.page_bytes(k.PAYHERE).decode("utf-8")
    broken = {
        # the feed's JSON moved its HTML under another key
        BLOCK2: block.replace(b'"renderedComponent"', b'"rendered"'),
        # the result's date line lost the class the parser reads it by
        search_url("페이히어", 1): page.replace(
            "sds-comps-profile-info-subtext", "sds-comps-profile-info-sub"
        ).encode("utf-8"),
    }
    result = canary(tmp_path, replay(tmp_path, "broken", broken), state)
    assert result.returncode == 2, result.stdout + result.stderr[-3000:]
    changed = [line.split(" at ")[0].strip() for line in result.stderr.splitlines()]
    changed = [line for line in changed if line.startswith("CHANGED:")]
    # `published` is not in the set's expect list for this page: the state says it read before
    assert len(changed) == 3 and changed[0].startswith(
        "CHANGED: naver-search: published reads nothing (read 100% on "
    ), result.stderr
    assert changed[1].startswith("CHANGED: naver-section-more: count reads nothing (read 100%")
    assert changed[2].startswith("CHANGED: naver-section-more: next reads nothing (read 100%")
    assert "does not parse" in result.stdout  # the table says why the block read nothing
    # the state keeps the last good reading, so tomorrow's run still fails
    saved = json.loads(state.read_text("utf-8"))["pages"]
    assert saved["naver-search"]["fields"]["published"]["share"] == 1.0
