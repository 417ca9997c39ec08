"""Articles per second into PostgreSQL: batched (`store_articles`) against one at a time.

    .venv/bin/python bench/store.py [--items 3000] [--batch 100] [--sizes 0,100000]
    .venv/bin/python bench/store.py --full        # sizes 0, 100k and 1M (the documented run)

The target of the cost part: at 1M stored articles ≤ 1.3× the small reference database. Why it
grew (2.34× before) and what changed: docs/benchmarks.md.

Items are synthetic but realistic (bench/_items.py: real corpus paragraphs drawn at random, so
hashes differ and SimHashes are as far apart as unrelated stories'); their keys are computed
before timing, as the dedupe pipeline does before the store. A share of them (`--dup-rate`)
repeats an earlier item the way a crawl does: the same article again (unchanged), the same text
under another URL (dropped_hash), the same publisher's headline on the same day (dropped_headline).
Constraints, dedupe, near-duplicate clustering and the writers' lock are all on: it is the real
`db.articles` code against a throwaway database (on DATABASE_URL's server, else the embedded
one), dropped afterwards.

1. Batched against row-at-a-time: the same items into two fresh databases, interleaved chunk
   by chunk; row-at-a-time is `store_article` per item, each its own transaction. 1b: batched
   rate by batch size (STORE_BATCH_SIZE is 100 by default).
2. Cost per item against table size: one database filled with background rows (bulk-loaded with
   store_articles in batches of 2,000) to each size in turn, then fresh items stored both ways;
   the batched chunks alternate with chunks into a small reference database, and the cost is
   given as a ratio to that reference, measured in the same moments.

Targets: ≥ 5,000 articles/s batched, ≥ 10× row-at-a-time, cost flat in the table size.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import _common
from _items import ItemFactory

from crawler.domain.items import ArticleItem
from crawler.domain.keys import with_keys
from db.articles import store_article, store_articles
from db.connection import connect

BACKGROUND_BASE = 100_000_000  # item numbers of background rows (measured items start at 1)
LOAD_BATCH = 2000


def workload(factory: ItemFactory, start: int, count: int, dup_rate: float) -> list[ArticleItem]:
    """`count` items numbered from `start`; about `dup_rate` of them repeat an earlier one."""
    rng = random.Random(start)
    out: list[ArticleItem] = []
    for n in range(start, start + count):
        if out and rng.random() < dup_rate:
            prev = rng.choice(out)
            kind = rng.randrange(3)
            if kind == 0:  # the same article fetched again
                out.append(replace(prev, urls=list(prev.urls)))
            elif kind == 1:  # the same text under another address
                dup = replace(prev, url=f"https://v.daum.net/v/{20260000000000000 + n}", urls=[])
                dup.original_url = None
                out.append(dup)
            else:  # the same headline from the same publisher that day, another text
                other = factory.item(n, rng_offset=7)
                other.title, other.publisher = prev.title, prev.publisher
                other.published_at = prev.published_at + timedelta(minutes=5)
                out.append(with_keys(other))
            continue
        out.append(factory.item(n))
    return out


def store_batched(conn, items: list[ArticleItem], batch: int) -> tuple[float, Counter]:
    outcomes: Counter = Counter()
    t = time.perf_counter()
    for i in range(0, len(items), batch):
        for r in store_articles(conn, items[i : i + batch]):
            outcomes[r.outcome] += 1
    return time.perf_counter() - t, outcomes


def store_rows(conn, items: list[ArticleItem]) -> tuple[float, Counter]:
    outcomes: Counter = Counter()
    t = time.perf_counter()
    for it in items:
        outcomes[store_article(conn, it).outcome] += 1
    return time.perf_counter() - t, outcomes


def fresh(items: list[ArticleItem]) -> list[ArticleItem]:
    """Copies, so one database's run cannot leak anything into the other's items."""
    return [replace(it, urls=list(it.urls), authors=list(it.authors)) for it in items]


def batched_vs_rows(
    factory: ItemFactory, n: int, batch: int, dup_rates: list[float], chunks: int = 6
) -> list[tuple[float, float, float]]:
    """(dup rate, batched articles/s, ratio to row-at-a-time) per workload."""
    rows = []
    result = []
    for dup_rate in dup_rates:
        items = workload(factory, 1, n, dup_rate)
        size = -(-n // chunks)
        t_b = t_r = 0.0
        out_b: Counter = Counter()
        out_r: Counter = Counter()
        with _common.throwaway_database() as url_b, _common.throwaway_database() as url_r:
            with connect(url_b) as cb, connect(url_r) as cr:
                for k in range(chunks):
                    chunk = items[k * size : (k + 1) * size]
                    runs = [("b", cb), ("r", cr)] if k % 2 == 0 else [("r", cr), ("b", cb)]
                    for which, conn in runs:
                        if which == "b":
                            dt, o = store_batched(conn, fresh(chunk), batch)
                            t_b += dt
                            out_b.update(o)
                        else:
                            dt, o = store_rows(conn, fresh(chunk))
                            t_r += dt
                            out_r.update(o)
        rate_b, rate_r = n / t_b, n / t_r
        label = "all new" if not dup_rate else f"{dup_rate:.0%} repeats"
        rows += [
            [
                label,
                f"batched ({batch} per transaction)",
                n,
                t_b,
                rate_b,
                1000 * t_b / n,
                rate_b / rate_r,
                _outcomes(out_b),
            ],
            [
                label,
                "row at a time (own transaction)",
                n,
                t_r,
                rate_r,
                1000 * t_r / n,
                1.0,
                _outcomes(out_r),
            ],
        ]
        if out_b != out_r:
            print(f"NOTE: outcomes differ between the modes: {out_b} vs {out_r}")
        result.append((dup_rate, rate_b, rate_b / rate_r))
    print(
        _common.table(
            [
                "workload",
                "mode",
                "items",
                "seconds",
                "articles/s",
                "ms/item",
                "vs row-at-a-time",
                "outcomes",
            ],
            rows,
            f"1. Batched (store_articles) vs row-at-a-time (store_article), from an empty "
            f"database, the two interleaved in {chunks} chunks",
        )
    )
    return result


def batch_sizes(factory: ItemFactory, sizes: list[int], n: int, rounds: int = 2) -> float:
    """Batched articles/s of new items by batch size, sizes interleaved; the best rate."""
    items = workload(factory, 5_000_001, n * len(sizes) * rounds, 0.0)
    spent = dict.fromkeys(sizes, 0.0)
    pos = 0
    with _common.throwaway_database() as url, connect(url) as conn:
        store_articles(conn, workload(factory, 4_000_001, 100, 0.0))  # warm: plans, caches
        for r in range(rounds):
            for size in sizes if r % 2 == 0 else sizes[::-1]:
                dt, _o = store_batched(conn, items[pos : pos + n], size)
                spent[size] += dt
                pos += n
    rows = [
        [size, n * rounds, n * rounds / spent[size], 1000 * spent[size] / (n * rounds)]
        for size in sizes
    ]
    print(
        _common.table(
            ["items per transaction", "items", "articles/s", "ms/item"],
            rows,
            "1b. Batched, new items only, by batch size (sizes interleaved, one database)",
        )
    )
    return max(n * rounds / t for t in spent.values())


def _outcomes(c: Counter) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(c.items()))


def bulk_load(conn, factory: ItemFactory, start: int, count: int) -> float:
    """Background rows, archive-dated, SimHash drawn: generated in this thread while the
    previous batch is stored in another (psycopg waits on the server without the GIL)."""
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        for i in range(start, start + count, LOAD_BATCH):
            m = min(LOAD_BATCH, start + count - i)
            batch = [
                factory.item(BACKGROUND_BASE + k, recent=False, exact_keys=False)
                for k in range(i, i + m)
            ]
            if pending is not None:
                pending.result()
            pending = pool.submit(store_articles, conn, batch)
        if pending is not None:
            pending.result()
    return time.perf_counter() - t


def scaling(
    factory: ItemFactory, sizes: list[int], n: int, batch: int, dup_rate: float, reps: int = 4
) -> list[float]:
    """Batched cost per item at each table size, as a ratio to a small reference database
    measured in the same moments (chunks alternate between the two), so that the machine's
    load at the time cancels out. Returns those ratios (in a continuing checkpoint cycle).

    Measured twice per size: first as a crawl continuing after the bulk load (no checkpoint in
    between: the state of a steady crawl), then right after a CHECKPOINT, the worst case: the
    first change of every page after a checkpoint writes the whole page to the WAL, and a large
    table's random index pages are then nearly all first changes. The WAL's full-page images
    per item (pg_stat_wal) show which is which."""
    rows = []
    ratios = []
    next_item = 10_000_001

    def chunk(conn, rows_too: bool) -> tuple[float, float, float]:
        nonlocal next_item
        items = workload(factory, next_item, n, dup_rate)
        next_item += n
        fpi0 = _full_pages(conn)
        b = store_batched(conn, items, batch)[0] / n
        fpi = (_full_pages(conn) - fpi0) / n
        if not rows_too:
            return b, float("nan"), fpi
        few = workload(factory, next_item, max(n // 10, 50), dup_rate)
        next_item += len(few)
        return b, store_rows(conn, few)[0] / len(few), fpi

    def measure(conn, ref) -> list[float]:
        best_b = best_r = best_ref = float("inf")
        fpis, ref_fpis = [], []
        for _ in range(reps):
            b, r, fpi = chunk(conn, True)
            best_b, best_r = min(best_b, b), min(best_r, r)
            fpis.append(fpi)
            rb, _, rfpi = chunk(ref, False)
            best_ref = min(best_ref, rb)
            ref_fpis.append(rfpi)
        mean = sum(fpis) / len(fpis)
        ref_mean = sum(ref_fpis) / len(ref_fpis)
        return [1000 * best_b, 1000 * best_ref, best_b / best_ref, mean, ref_mean, 1000 * best_r]

    with (
        _common.throwaway_database() as url,
        _common.throwaway_database() as ref_url,
        connect(url) as conn,
        connect(ref_url) as ref,
    ):
        loaded = 0
        for size in sizes:
            load_s = 0.0
            if size > loaded:
                load_s = bulk_load(conn, factory, loaded, size - loaded)
                conn.execute("VACUUM ANALYZE")  # a steady-state table, as autovacuum keeps it
                loaded = size
            have = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            steady = measure(conn, ref)
            conn.execute("CHECKPOINT")
            cold = measure(conn, ref)
            ratios.append(steady[2])
            rate = size / load_s if load_s else None
            rows.append([size, have, rate, "continuing", *steady])
            rows.append([size, have, rate, "after a checkpoint", *cold])
    print(
        _common.table(
            [
                "background rows",
                "rows at measure",
                "bulk load rows/s",
                "measured",
                "batched ms/item",
                "reference ms/item",
                "cost vs reference",
                "full pages/item",
                "reference full pages/item",
                "row-at-a-time ms/item",
            ],
            rows,
            f"2. Cost per item against table size: best of {reps} chunks of {n} batched, "
            f"alternating with chunks into a small reference database; "
            f"{max(n // 10, 50)} row-at-a-time; full-page images in the WAL per item",
        )
    )
    return ratios


def _full_pages(conn) -> int:
    """Full-page images the server has written to its WAL so far (PostgreSQL 14+)."""
    return int(conn.execute("SELECT wal_fpi FROM pg_stat_wal").fetchone()[0])


def main() -> None:
    from crawler import settings as defaults

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=3000, help="items per mode in part 1")
    ap.add_argument(
        "--batch",
        type=int,
        default=defaults.STORE_BATCH_SIZE,
        help="items per transaction (default: STORE_BATCH_SIZE)",
    )
    ap.add_argument("--dup-rate", type=float, default=0.1, help="repeats in the mixed workload")
    ap.add_argument("--sizes", default="0,100000", help="background table sizes for part 2")
    ap.add_argument("--full", action="store_true", help="sizes 0,100000,1000000")
    ap.add_argument("--scale-items", type=int, default=1000, help="batched items per size")
    ap.add_argument("--sweep-items", type=int, default=1500, help="items per batch size (1b)")
    ap.add_argument("--scale-only", action="store_true", help="part 2 only")
    args = ap.parse_args()
    sizes = [0, 100_000, 1_000_000] if args.full else [int(x) for x in args.sizes.split(",")]
    print(f"# bench/store.py — {_common.machine()}")
    print(f"# {_common.versions('psycopg', 'pgserver')}; database: {_server_version()}")
    factory = ItemFactory()
    results: list[tuple[float, float, float]] = []
    best = float("nan")
    if not args.scale_only:
        results = batched_vs_rows(factory, args.items, args.batch, [0.0, args.dup_rate])
        best = batch_sizes(factory, sorted({args.batch, 250, 500, 1000}), args.sweep_items)
    ratios = scaling(factory, sizes, args.scale_items, args.batch, args.dup_rate)
    flat = max(ratios)
    print()
    for dup_rate, rate, ratio in results:
        label = "all new" if not dup_rate else f"{dup_rate:.0%} repeats"
        print(
            f"target >= 5,000 articles/s batched ({label}): {rate:,.0f}/s: "
            f"{_common.verdict(rate >= 5000)}"
        )
        print(
            f"target batched >= 10x row-at-a-time ({label}): {ratio:.1f}x: "
            f"{_common.verdict(ratio >= 10)}"
        )
    if not args.scale_only:
        print(
            f"best batched rate over batch sizes (1b): {best:,.0f}/s: "
            f"{_common.verdict(best >= 5000)}"
        )
    print(
        f"target flat cost, a continuing crawl (vs reference <= 1.3x at every size): {flat:.2f}x at "
        f"{sizes[ratios.index(flat)]:,} rows: "
        f"{_common.verdict(flat <= 1.3)}"
    )


def _server_version() -> str:
    server = _common.server_url()
    with connect(server) as conn:
        v = conn.execute("SHOW server_version").fetchone()[0]
        sync = conn.execute("SHOW synchronous_commit").fetchone()[0]
        fsync = conn.execute("SHOW fsync").fetchone()[0]
        buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
        wal = conn.execute("SHOW max_wal_size").fetchone()[0]
        every = conn.execute("SHOW checkpoint_timeout").fetchone()[0]
    return (
        f"PostgreSQL {v} (fsync={fsync}, synchronous_commit={sync}, shared_buffers={buffers}, "
        f"checkpoints every {every} or {wal} of WAL)"
    )


if __name__ == "__main__":
    main()
