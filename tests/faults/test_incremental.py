"""An incremental search crawl never stops at "all known" pages while the previous run of the
same crawl ended with losses: it pages on and fetches what that run missed."""

from __future__ import annotations

from db.crawl_runs import finish_run, recent_runs, start_run
from tests.ops import opskit as kit
from tests.ops.opskit import QUERY, page_url


def requested_pages(server) -> list[str]:
    """The result blocks asked for: the search page and its loader's `start=` blocks."""
    return server.requested("start=")


def test_an_incremental_run_after_a_lossy_one_pages_on(conn, db_url) -> None:
    old1, old2, new = kit.search_page(), kit.search_page("v2"), kit.search_page("v3")
    pages = {page_url(1): new, page_url(2): kit.block(old1, 2), page_url(3): kit.block(old2, 3)}
    args = ("--pages", "3", "--no-articles")
    with kit.replay({page_url(1): old1, page_url(2): kit.block(old2, 2)}) as server:
        first = kit.sosik(db_url, *kit.crawl_args(server, "--pages", "2", "--no-articles"))
        assert first.returncode == 0, first.stderr
    # A later run of the same crawl was killed: whatever it had not stored is missing.
    killed = start_run(conn, "naver", {"query": QUERY, "sort": "recent", "pages": 3})
    finish_run(conn, killed, "killed", {"failure": "killed: process 1 is gone"})
    with kit.replay(pages) as server:
        after_loss = kit.sosik(db_url, *kit.crawl_args(server, *args, "--incremental"))
        asked = requested_pages(server)
    assert after_loss.returncode == 0, after_loss.stderr
    assert any("start=21" in u for u in asked)  # paged past the known page 2
    run = recent_runs(conn, 1)[0]
    assert "incremental/known_pages" not in run.stats and run.status == "ok"
    # That run ended ok: the next one may stop at a known page again.
    with kit.replay(pages) as server:
        again = kit.sosik(db_url, *kit.crawl_args(server, *args, "--incremental"))
        asked = requested_pages(server)
    assert again.returncode == 0, again.stderr
    assert not any("start=21" in u for u in asked)
    assert recent_runs(conn, 1)[0].stats["incremental/known_pages"] == 1
