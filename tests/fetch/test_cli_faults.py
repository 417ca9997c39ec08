"""`sosik crawl --replay DIR --faults SPEC --fault-seed N`, as an operator runs it."""

from __future__ import annotations

import psycopg
import pytest

from crawler.cli import main
from tests.conftest import require_corpus
from tests.e2e.replaykit import SECTION_ARGS, crawl, last_run_stats, section_replay

MK = [
    ("https://www.mk.co.kr/news/society/11328184", "mk-article/mk_society_11328184.html"),
    ("https://www.mk.co.kr/news/world/11331368", "mk-article/mk_world_11331368.html"),
    ("https://www.mk.co.kr/news/politics/11333783", "mk-article/mk_politics_11333783.html"),
]


@pytest.mark.e2e
def test_a_5xx_burst_on_every_article_is_retried_through_and_stored(tmp_path, fresh_db):
    replay = section_replay(tmp_path / "r", MK)
    done = crawl(
        fresh_db,
        *SECTION_ARGS,
        "--faults",
        "5xx:times=2:skip=main.naver",
        "--fault-seed",
        "3",
        "-s",
        "RETRYAFTER_BACKOFF_BASE=0.2",
        replay=replay,
    )
    assert done.code == 0, done.stderr[-3000:]
    stats = last_run_stats(fresh_db)
    assert stats["retry/count"] == 2 * len(MK)  # two 5xx answers per article, then the page
    assert stats["retry/parked"] == 2 * len(MK)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == len(MK)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--faults", "5xx"], "--faults needs --replay"),
        (["--replay", "{dir}", "--faults", "nosuch"], "--faults 'nosuch': unknown fault"),
        (["--replay", "{dir}", "--faults", "5xx:rate=3"], "rate must be within 0..1"),
    ],
)
def test_fault_flag_mistakes_are_one_line(tmp_path, extra, message, capsys):
    require_corpus()
    replay = section_replay(tmp_path / "r", MK[:1])
    argv = ["crawl", *SECTION_ARGS, *(a.replace("{dir}", str(replay)) for a in extra)]
    assert main(argv) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
