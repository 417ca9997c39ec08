"""An operator's mistakes, each answered in one line with an exit code a script can test:
64 (EX_USAGE) naming the flag and the value, never a traceback, never a password.

The inputs are issue 13's list, as an operator typed them. In-process where nothing but the
argument check runs; a real process where the exit code or stdout handling is the point.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.cli import main
from crawler.spiders.lists import ListSpider
from crawler.spiders.naver import NaverSpider
from tests.conftest import FIXTURES

REPO = Path(__file__).resolve().parents[1]
EX_USAGE, EX_SOFTWARE, EX_PIPE = 64, 70, 141  # crawler.errors
PAGE = FIXTURES / "yna" / "article.html"
YNA = "https://www.yna.co.kr/view/AKR20250101000100001"


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["crawl", "naver", "-q", "x", "--since", "2024-08-31", "--until", "2024-08-01"],
            "sosik: --since 2024-08-31 is after --until 2024-08-01: the window is empty",
        ),
        (
            ["crawl", "naver", "-q", "x", "--pages", "abc"],
            "sosik crawl: --pages: 'abc' is not a whole number",
        ),
        (
            ["crawl", "naver", "-q", "x", "--pages", "-1"],
            "sosik crawl: --pages: '-1' is below 0 (0 = every page)",
        ),
        (
            ["crawl", "naver", "-q", "x", "--since", "2024-13-01"],
            "sosik crawl: --since: '2024-13-01' is not a date: month must be in 1..12",
        ),
        (
            ["crawl", "list", "--url", "https://www.yna.co.kr/economy/all", "--no-articles"],
            "sosik: --no-articles: list stores articles only; search hits without articles "
            "come from naver, daum, seoul",
        ),
        (
            ["reparse", "--portal", "nosuch"],
            "sosik reparse: --portal: invalid choice: 'nosuch' (choose from 'naver', 'daum',",
        ),
        (
            ["extract", str(FIXTURES), "--url", YNA],
            f"sosik: FILE '{FIXTURES}' is a directory; give one saved page",
        ),
        (
            ["crawl", "naver_section", "--section", "nosuch"],
            "sosik: naver_section: unknown section 'nosuch'",
        ),
        (["crawl", "naver", "-q", "x", "-s", "DELAY"], "sosik: -s 'DELAY': want NAME=VALUE"),
        (
            ["crawl", "naver", "-q", "x", "-s", "CONCURRENT_REQUESTS=abc"],
            "sosik: -s CONCURRENT_REQUESTS='abc': want a whole number",
        ),
        (
            ["crawl", "list", "--url", "notaurl"],
            "sosik: --url: 'notaurl' is not an http(s) address",
        ),
        (["crawl", "naver", "-q", "x", "--sort", "newest"], "sosik crawl: --sort: invalid"),
        (["runs", "--limit", "0"], "sosik runs: --limit/-n: '0' is below 1"),
        (["runs", "show", "abc"], "sosik runs show: id: 'abc' is not a whole number"),
        (["crawl", "naver", "--log-level", "loud"], "sosik crawl: --log-level: invalid choice"),
        ([], "sosik: the following arguments are required: command"),
    ],
)
def test_a_usage_error_is_one_line_naming_the_flag_and_exit_64(argv, line, capsys):
    assert main(argv) == EX_USAGE
    assert one_line(capsys).startswith(line)


@pytest.mark.parametrize(
    ("dsn", "why"),
    [
        ("postgresq://feed:s3cretpw@db.example/sosik", "unknown scheme 'postgresq'"),
        ("postgresql://feed:s3cret%ZZpw@db.example/sosik", "a '%' that starts no %XX escape"),
        ("postgresql://feed:s3cret@pw@db.example/sosik", "more than one '@'"),
        ("postgresql://feed:s3cret/pw@db.example/sosik", "a '/' in the user or password"),
        ("host=db.example password=s3cretpw dbname", "is not a connection string"),
    ],
)
@pytest.mark.parametrize("argv", [["runs"], ["db", "upgrade"], ["crawl", "naver", "-q", "x"]])
def test_a_malformed_database_url_is_one_line_with_its_password_masked(
    dsn, why, argv, capsys, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", dsn)
    assert main(argv) == EX_USAGE
    line = one_line(capsys)
    assert line.startswith("sosik: DATABASE_URL '") and why in line
    assert "s3cret" not in line and "pw@" not in line and "***" in line


def test_a_revision_that_does_not_exist_is_a_usage_error(db_url, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["db", "downgrade", "nosuch"]) == EX_USAGE
    assert one_line(capsys) == (
        "sosik: db downgrade nosuch: Can't locate revision identified by 'nosuch'"
    )


def test_an_unreachable_database_is_one_line_without_the_password(capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://feed:s3cretpw@127.0.0.1:1/sosik")
    assert main(["runs"]) == 1
    line = one_line(capsys)
    assert line.startswith("sosik: cannot connect to PostgreSQL feed@127.0.0.1:1/sosik")
    assert "s3cret" not in line


def test_a_bug_is_one_line_and_exit_70_and_the_traceback_only_when_asked(capsys, monkeypatch):
    def broken(args):
        raise RuntimeError("boom while talking to postgresql://feed:s3cretpw@db/sosik")

    monkeypatch.setattr("crawler.commands.runs.list_runs", broken)
    assert main(["runs"]) == EX_SOFTWARE
    line = one_line(capsys)
    assert line == (
        "sosik: internal error (RuntimeError: boom while talking to "
        "postgresql://feed:***@db/sosik); SOSIK_DEBUG=1 shows the traceback"
    )
    monkeypatch.setenv("SOSIK_DEBUG", "1")
    assert main(["runs"]) == EX_SOFTWARE
    err = capsys.readouterr().err
    assert "Traceback" in err and "s3cret" not in err


def test_output_into_a_closed_pipe_ends_quietly():
    """`sosik extract … | head`: the reader went away before we wrote."""
    read, write = os.pipe()
    os.close(read)  # every write now fails with EPIPE, deterministically
    try:
        p = subprocess.run(
            [sys.executable, "-m", "crawler.cli", "extract", str(PAGE), "--url", YNA],
            cwd=REPO,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)
    assert (p.returncode, p.stderr) == (EX_PIPE, "")


def test_a_page_that_is_not_an_article_is_a_failure_not_a_usage_error(tmp_path, capsys):
    page = tmp_path / "login.html"
    page.write_text("<html><body><p>로그인이 필요합니다</p></body></html>", encoding="utf-8")
    assert main(["extract", str(page), "--url", YNA]) == 1
    assert one_line(capsys).startswith("sosik: could not parse (Yonhap body")


# -- the pieces --------------------------------------------------------------------------------
def test_spider_arguments_are_checked_alike_for_scrapy_crawl():
    from crawler.arguments import check_spider_args, scrapy_flag
    from crawler.errors import UsageError

    with pytest.raises(UsageError, match=r"^-a pages: 'abc' is not a whole number$"):
        check_spider_args(NaverSpider, {"query": "x", "pages": "abc"}, scrapy_flag)
    with pytest.raises(UsageError, match=r"^-a since 2024-08-31 is after -a until 2024-08-01"):
        check_spider_args(
            NaverSpider, {"query": "x", "since": "2024-08-31", "until": "2024-08-01"}, scrapy_flag
        )
    with pytest.raises(UsageError, match=r"^-a articles: list stores articles only"):
        check_spider_args(ListSpider, {"url": "https://a.kr/l", "articles": "0"}, scrapy_flag)
    with pytest.raises(UsageError, match=r"^naver: naver needs -a query"):
        check_spider_args(NaverSpider, {}, scrapy_flag)
    check_spider_args(NaverSpider, {"query": "x", "pages": "0", "since": "2024-08-01"})


def test_passwords_are_masked_however_the_url_is_broken(monkeypatch):
    from db.dsn import ConfigError, check_dsn, masked, redact

    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert masked("postgresql://u:p%40ss@h/db") == "postgresql://u:***@h/db"
    assert masked("postgresql://u:pa@ss@h/db") == "postgresql://u:***@h/db"
    assert masked("host=h password='se cret' dbname=d") == "host=h password=*** dbname=d"
    # a password met once is masked wherever it shows up later, whole or in '@'-pieces
    with pytest.raises(ConfigError):
        check_dsn("postgresql://u:hunter@two@h/db")
    assert redact("could not resolve host 'two@h'; hunter") == "could not resolve host '***@h'; ***"
    assert redact("retrying hunters") == "retrying hunters"  # not inside longer words
    assert check_dsn("postgresql://u:p%40ss@h:5432/db?sslmode=require").endswith("require")
