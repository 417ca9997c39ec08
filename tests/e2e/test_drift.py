"""The layout-drift alarm end to end: a parser that silently stops reading a field turns the
run `degraded` (exit code 2, named field and parser); the same crawl with a healthy parser is ok."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

from tests.e2e.replaykit import REPO, SECTION_ARGS, crawl, section_replay

pytestmark = pytest.mark.e2e

MK = [
    ("https://www.mk.co.kr/news/society/11328184", "mk-article/mk_society_11328184.html"),
    ("https://www.mk.co.kr/news/sports/11328187", "mk-article/mk_sports_11328187.html"),
    ("https://www.mk.co.kr/news/realestate/11329112", "mk-article/mk_realestate_11329112.html"),
    ("https://www.mk.co.kr/news/world/11331368", "mk-article/mk_world_11331368.html"),
]

# The crawl as `sosik crawl`, with the mk parser broken the way a markup change breaks one:
# it still returns items, but without their publication time.
BROKEN = """
import sys
import crawler.parsers.mk as mk
from crawler.cli import main

_parse = mk.parse_article

def parse_without_date(page):
    item = _parse(page)
    item.published_at = None
    return item

mk.parse_article = parse_without_date
sys.exit(main(sys.argv[1:]))
"""


def status_of_last_run(db_url: str) -> str:
    with psycopg.connect(db_url, autocommit=True) as conn:
        return conn.execute("SELECT status FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone()[0]


def test_healthy_parser_run_is_ok(tmp_path, fresh_db):
    replay = section_replay(tmp_path / "r", MK)
    result = crawl(fresh_db, *SECTION_ARGS, replay=replay)
    assert result.code == 0, result.stderr[-2000:]
    assert status_of_last_run(fresh_db) == "ok"


def test_broken_parser_run_is_degraded_and_names_field_and_parser(tmp_path, fresh_db):
    replay = section_replay(tmp_path / "r", MK)
    cmd = [sys.executable, "-c", BROKEN, "crawl", *SECTION_ARGS, "--replay", str(replay)]
    p = subprocess.run(
        cmd,
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": fresh_db},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert p.returncode == 2, p.stderr[-2000:]
    assert "degraded" in p.stderr
    assert "parser mk.v1: published_at present in 0% of items" in p.stderr
    assert status_of_last_run(fresh_db) == "degraded"
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        alarms = conn.execute("SELECT stats->'alarms' FROM crawl_runs").fetchone()[0]
        stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert any("mk.v1" in a and "published_at" in a for a in alarms)
    assert stored == 4  # degraded is an alarm, not a loss: the items are still stored
