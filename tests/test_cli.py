"""The `sosik` command's own behaviour: extract output, one-line errors, argument checks."""

from __future__ import annotations

import json

import pytest

from crawler.cli import main
from tests.conftest import require_corpus
from tests.corpus import corpus_dir


def test_extract_prints_the_stored_item_as_json(capsys):
    require_corpus()
    path = corpus_dir() / "mk-article" / "mk_world_11331368.html"
    assert main(["extract", str(path), "--url", "https://www.mk.co.kr/news/world/11331368"]) == 0
    out = json.loads(capsys.readouterr().out)
    gold = json.loads(path.with_suffix(".expected.json").read_text("utf-8"))
    for key in ("url", "title", "publisher", "subtitle", "authors", "body"):
        assert out[key] == gold[key], key
    assert out["published_at"] == "2025-05-30T19:56:23+09:00"
    assert len(out["content_hash"]) == 64 and out["headline_key"]


def test_extract_search_and_list_pages(capsys):
    require_corpus()
    path = corpus_dir() / "naver-search" / "naver_search_news_payhere_2025.html"
    assert (
        main(
            [
                "extract",
                str(path),
                "--url",
                "https://search.naver.com/search.naver?where=news&query=x",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["total_shown"] == 10 and out["query"] == "페이히어"
    path = corpus_dir() / "yna-list" / "yna_list_international_asia-australia_2025.html"
    assert (
        main(["extract", str(path), "--url", "https://www.yna.co.kr/international/asia-australia"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["count"] == 25


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["extract", "/nonexistent.html", "--url", "https://x.kr/a"], "no such file"),
        (["crawl", "naver"], "naver needs --query"),
        (["crawl", "nowhere", "--query", "x"], "unknown spider"),
        (["crawl", "naver", "--query", "x", "--since", "2024-13"], "not a date"),
        (["crawl", "naver_section"], "needs --section"),
        (["crawl", "daum_section"], "needs --section"),
        (["crawl", "daum_section", "--section", "없는섹션"], "unknown Daum section"),
    ],
)
def test_operator_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 64  # EX_USAGE
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_a_page_that_is_not_an_article_is_one_line(tmp_path, capsys):
    page = tmp_path / "empty.html"
    page.write_text("<html><body><p>로그인이 필요합니다</p></body></html>", encoding="utf-8")
    assert (
        main(
            ["extract", str(page), "--url", "https://n.news.naver.com/mnews/article/001/0000000001"]
        )
        == 1
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("sosik: ") and "\n" not in err
