"""Naver search paged the way the site pages it: the real result page, then the loader's JSON
answers at the URL the page (and then each answer) gives, through the real Scrapy engine
against the replay server, into PostgreSQL. The replay server's request log is the evidence.

The answers are written at test time from the real saved pages (tests/e2e/naverkit.py): the
payhere page is page 1; the domsave page's two real blocks are the loader's next blocks.
"""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest

from crawler.middlewares.replay import ReplayServer, load_replay
from crawler.runrecord import iter_errors
from crawler.spiders.naver import search_url, with_window
from tests.e2e import naverkit as k
from tests.e2e.replaykit import ReplayFolder, counts, crawl, last_run_stats

pytestmark = pytest.mark.e2e

QUERY = "페이히어"
FAST = ("-s", "NAVER_EMPTY_BACKOFF=0.05")


@pytest.fixture
def blocks() -> dict[str, k.Block]:
    return k.search_blocks()


def serve(folder: ReplayFolder) -> ReplayServer:
    return ReplayServer(load_replay([folder.write()]))


def loader_requests(server: ReplayServer) -> list[str]:
    return [u for u in server.requested("s.search.naver.com") if "/api/" in u]


def three_blocks(tmp_path, blocks) -> tuple[ReplayFolder, list[str]]:
    """Page 1 (payhere) → loader start=11 (bside2) → start=21 (bside1) → start=31 (nothing)."""
    l1 = k.loader_url(k.PAYHERE)
    l2, l3 = k.at_start(l1, 21), k.at_start(l1, 31)
    folder = ReplayFolder(tmp_path / "r")
    folder.add(search_url(QUERY, 1), k.page_bytes(k.PAYHERE))
    folder.add(l1, k.answer(blocks["bside2"], l2))
    folder.add(l2, k.answer(blocks["bside1"], l3))
    folder.add(l3, k.answer(None, None))
    return folder, [l1, l2, l3]


def hits_by_page(db: str) -> dict[int, int]:
    with psycopg.connect(db, autocommit=True) as conn:
        rows = conn.execute("SELECT page, count(*) FROM search_hits GROUP BY page").fetchall()
    return dict(rows)


def run_errors(db: str) -> list[dict]:
    """The pages the last run names, one dict per page (kind, url, reason)."""
    with psycopg.connect(db, autocommit=True) as conn:
        stored = conn.execute("SELECT errors FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone()
    return [{"kind": k, "url": u, "reason": r} for k, u, r in iter_errors(stored[0])]


def test_three_blocks_from_the_loader_urls_in_order_and_again(tmp_path, fresh_db, blocks):
    folder, urls = three_blocks(tmp_path, blocks)
    distinct = set(blocks["payhere"].urls) | set(blocks["bside2"].urls) | set(blocks["bside1"].urls)
    with serve(folder) as server:
        args = ("naver", "--query", QUERY, "--pages", "3", "--no-articles")
        first = crawl(fresh_db, *args, replay_url=server.url)
        assert first.code == 0, first.stderr[-3000:]
        # page 1 from search.naver.com, then the loader URLs the page and its answer gave
        assert loader_requests(server) == urls[:2]
        assert server.requested("search.naver.com/search.naver") == [search_url(QUERY, 1)]
        after = counts(fresh_db)
        assert after["search_hits"] == len(distinct) == 29  # bside ranks 8 and 20: one article
        assert set(hits_by_page(fresh_db)) == {1, 2, 3}
        stats = last_run_stats(fresh_db)
        assert stats["pages/search"] == 3 and stats["items/search_hits"] == 30
        assert "naver/crosscheck_mismatch" not in stats  # markup and renderer data agree

        again = crawl(fresh_db, *args, replay_url=server.url)
        assert again.code == 0, again.stderr[-3000:]
        assert {t: n for t, n in counts(fresh_db).items() if t != "crawl_runs"} == {
            t: n for t, n in after.items() if t != "crawl_runs"
        }
        assert loader_requests(server) == urls[:2] * 2

        # incremental: page 1's hits are all stored, so no loader block is asked for
        inc = crawl(fresh_db, *args, "--incremental", replay_url=server.url)
        assert inc.code == 0, inc.stderr[-3000:]
        assert loader_requests(server) == urls[:2] * 2
        assert last_run_stats(fresh_db)["incremental/known_pages"] == 1


def test_collection_null_is_retried_and_every_block_arrives(tmp_path, fresh_db, blocks):
    folder, urls = three_blocks(tmp_path, blocks)
    with serve(folder) as server:
        # Naver's transient "nothing": twice for block 2, once for block 3
        server.inject("start=11", 200, times=2, body=b'{"collection": null}')
        server.inject("start=21", 200, times=1, body=b'{"collection":null}')
        result = crawl(
            fresh_db, "naver", "--query", QUERY, "--pages", "0", "--no-articles", *FAST,
            replay_url=server.url,
        )  # fmt: skip
        assert result.code == 0, result.stderr[-3000:]
        # the last answer has no next URL: that, not a null collection, ends the paging
        assert loader_requests(server) == [urls[0]] * 3 + [urls[1]] * 2 + [urls[2]]
    stats = last_run_stats(fresh_db)
    assert stats["naver/empty_answer_retry"] == 3
    assert counts(fresh_db)["search_hits"] == 29


def test_collection_null_past_the_retries_fails_the_run_with_its_url(tmp_path, fresh_db, blocks):
    folder, urls = three_blocks(tmp_path, blocks)
    with serve(folder) as server:
        server.inject("start=11", 200, times=10, body=b'{"collection": null}')
        result = crawl(
            fresh_db, "naver", "--query", QUERY, "--pages", "0", "--no-articles", *FAST,
            "-s", "NAVER_EMPTY_RETRIES=2", replay_url=server.url,
        )  # fmt: skip
        assert loader_requests(server) == [urls[0]] * 3  # asked 3 times, then given up
    assert result.code == 1
    assert counts(fresh_db)["search_hits"] == 10  # page 1's hits are kept
    errors = run_errors(fresh_db)
    assert [(e["kind"], e["url"]) for e in errors] == [("fetch", urls[0])]
    assert "collection: null 3 times" in errors[0]["reason"]


def window_replay(tmp_path, blocks) -> tuple[ReplayFolder, dict[str, str]]:
    """A 2023-01-01..2026-06-30 window whose second answer points past the 2,000 cap.

    Halves split at 2024-09-30: the domsave page (all dated 2023-02..2024-09) serves the first,
    payhere (2025-04) the second, so every result lies inside the window it was asked for.
    """
    w = (date(2023, 1, 1), date(2026, 6, 30))
    mid = w[0] + (w[1] - w[0]) // 2
    assert mid == date(2024, 9, 30)
    h1, h2 = (w[0], mid), (mid + timedelta(days=1), w[1])
    l1 = with_window(k.loader_url(k.PAYHERE), "recent", *w)
    urls = {
        "l1": l1,
        "l1991": k.at_start(l1, 1991),
        "l2001": k.at_start(l1, 2001),
        "h1": search_url(QUERY, 1, "recent", *h1),
        "h1_more": with_window(k.loader_url(k.BSIDE), "recent", *h1),
        "h2": search_url(QUERY, 1, "recent", *h2),
        "h2_more": with_window(k.loader_url(k.PAYHERE), "recent", *h2),
    }
    folder = ReplayFolder(tmp_path / "r")
    folder.add(search_url(QUERY, 1, "recent", *w), k.page_bytes(k.PAYHERE))
    folder.add(urls["l1"], k.answer(blocks["bside2"], urls["l1991"]))
    folder.add(urls["l1991"], k.answer(blocks["bside1"], urls["l2001"]))
    folder.add(urls["l2001"], k.answer(blocks["bside2"], None))  # must never be asked for
    folder.add(urls["h1"], k.page_bytes(k.BSIDE))
    folder.add(urls["h1_more"], k.answer(None, None))
    folder.add(urls["h2"], k.page_bytes(k.PAYHERE))
    folder.add(urls["h2_more"], k.answer(None, None))
    return folder, urls


def test_window_splits_at_the_2000_cap_the_page_states(tmp_path, fresh_db, blocks):
    folder, urls = window_replay(tmp_path, blocks)
    with serve(folder) as server:
        result = crawl(
            fresh_db, "naver", "--query", QUERY, "--since", "2023-01-01", "--until",
            "2026-06-30", "--pages", "0", "--no-articles", replay_url=server.url,
        )  # fmt: skip
        assert result.code == 0, result.stderr[-3000:]
        asked = loader_requests(server)
        pages = server.requested("search.naver.com/search.naver")
    # start=1991 is the 200th block of ten; its next (start=2001) is past the cap: split
    assert asked[:2] == [urls["l1"], urls["l1991"]]
    assert urls["l2001"] not in asked
    assert pages[1:] == [urls["h1"], urls["h2"]] or pages[1:] == [urls["h2"], urls["h1"]]
    assert sorted(asked[2:]) == sorted([urls["h1_more"], urls["h2_more"]])
    # every loader request carries the window (pd=3 switches it on; ds/de/nso name it)
    for u in asked:
        assert "pd=3" in u and "ds=20" in u and "nso=so%3Add%2Cp%3Afrom" in u
    stats = last_run_stats(fresh_db)
    assert stats["naver/window_split"] == 1
    assert "naver/window_ignored" not in stats


def test_results_outside_the_window_are_counted_and_block_the_split(tmp_path, fresh_db, blocks):
    """payhere's results are from 2025-04; asked for January 2024 they show Naver ignored it."""
    w = (date(2024, 1, 1), date(2024, 1, 31))
    l1 = with_window(k.loader_url(k.PAYHERE), "recent", *w)
    past_cap = k.at_start(l1, 2001)
    folder = ReplayFolder(tmp_path / "r")
    folder.add(search_url(QUERY, 1, "recent", *w), k.page_bytes(k.PAYHERE))
    folder.add(l1, k.answer(blocks["bside2"], past_cap))
    with serve(folder) as server:
        server_args = ("--since", "2024-01-01", "--until", "2024-01-31", "--pages", "0")
        result = crawl(
            fresh_db, "naver", "--query", QUERY, *server_args, "--no-articles",
            replay_url=server.url,
        )  # fmt: skip
        assert loader_requests(server) == [l1]
    assert "NAVER IGNORED THE DATE WINDOW" in result.stderr
    stats = last_run_stats(fresh_db)
    # all 10 of page 1 (2025-04) and the 10 of bside2 (2024-03/04/09) are outside January
    assert stats["naver/window_ignored"] == 20
    assert "naver/window_split" not in stats  # splitting would fetch the same results again
    assert result.code == 1  # results past the cap are lost: never an `ok` run
    assert [(e["kind"], e["url"]) for e in run_errors(fresh_db)] == [("naver", past_cap)]


def test_the_cap_without_a_window_is_a_named_loss(tmp_path, fresh_db, blocks):
    """Past the cap with no date window to split, later results cannot be reached: the run
    says so (never `ok`) and names the block it did not fetch."""
    l1 = k.loader_url(k.PAYHERE)
    past_cap = k.at_start(l1, 2001)
    folder = ReplayFolder(tmp_path / "r")
    folder.add(search_url(QUERY, 1, "recent"), k.page_bytes(k.PAYHERE))
    folder.add(l1, k.answer(blocks["bside2"], k.at_start(l1, 1991)))
    folder.add(k.at_start(l1, 1991), k.answer(blocks["bside1"], past_cap))
    with serve(folder) as server:
        result = crawl(
            fresh_db, "naver", "--query", QUERY, "--pages", "0", "--no-articles",
            replay_url=server.url,
        )  # fmt: skip
        assert past_cap not in loader_requests(server)
    assert result.code == 1, result.stderr[-3000:]
    assert last_run_stats(fresh_db)["naver/result_cap_reached"] == 1
    errors = run_errors(fresh_db)
    assert [(e["kind"], e["url"]) for e in errors] == [("naver", past_cap)]
    assert "without a date window" in errors[0]["reason"]
