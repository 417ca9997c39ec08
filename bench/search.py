"""Search latency, index size and indexing cost on a large table of synthetic Korean articles.

    python bench/search.py [--articles 100000] [--runs 200]

1. Load: `--articles` articles made from the corpus's real paragraphs (bench/_items.py: 6-14
   paragraphs each, a title of real words, real publishers, dates over ten years) stored with
   the store's own `store_articles`, in a throwaway database (DATABASE_URL's server, else the
   embedded one). One article in 5,000 also carries a hand-written paragraph of ours, so a
   rare word exists.
2. Index: `Indexer.run_pass` (what `sosik db reindex` runs) over all of them. Corpus paragraphs
   repeat across synthetic articles and the analyser's results are cached per paragraph, so
   this pass is cheaper than real news; the real cost is measured apart: the analyser over the
   corpus's real articles with every cache emptied before each one (min of 5 runs).
3. Queries: `db.search.find` (a page of 20, relevance and newest order) for common, rare,
   absent, two-word, phrase and filtered queries, `--runs` times each (interleaved), p50/p99
   wall time; beside each, the reference a reader has without the index, measured in the same
   run: `ILIKE '%word%'` on title and body, newest 20 (fewer runs: it is slow), and the exact
   number of matches against the estimate `find` gave.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import _common
from _items import ItemFactory

from crawler.domain.keys import content_hash
from crawler.domain.terms import _tokens, document_vector, query_expression, segment_terms
from crawler.extensions.indexer import Indexer
from db.articles import store_articles
from db.connection import connect
from db.search import find

BASE = 300_000_000  # item numbers of the bench's articles
RARE_EVERY = 5000
RARE = "양자컴퓨터 스타트업이 시리즈A 투자를 유치했다. 회사는 내년 상용화를 목표로 한다고 밝혔다."
LOAD_BATCH = 500

# name, q, filters (publisher is set from the data), ILIKE pattern of the reference
QUERIES: list[tuple[str, str | None, dict[str, Any], str | None]] = [
    ("common word", "대통령", {}, "대통령"),
    ("common, 2 syllables", "경제", {}, "경제"),
    ("rare word", "양자컴퓨터", {}, "양자컴퓨터"),
    ("absent word", "초전도체", {}, "초전도체"),
    ("two words", "트럼프 판사", {}, None),
    ("phrase", '"시내버스 노조"', {}, "시내버스 노조"),
    ("English", "LNG", {}, "LNG"),
    ("common + publisher + 1 year", "대통령", {"since": "2020-01-01", "until": "2020-12-31"}, None),
    ("no query, publisher", None, {}, None),
]


def load(url: str, factory: ItemFactory, n: int) -> float:
    t = time.perf_counter()
    with connect(url) as conn:
        for start in range(0, n, LOAD_BATCH):
            batch = []
            for k in range(start, min(n, start + LOAD_BATCH)):
                item = factory.item(BASE + k, recent=False, exact_keys=False)
                if k % RARE_EVERY == RARE_EVERY // 2:
                    item.body += "\n\n" + RARE
                    item.content_hash = content_hash(item.body)
                batch.append(item)
            store_articles(conn, batch)
            if sys.stderr.isatty():
                sys.stderr.write(f"\rloaded {start + len(batch):,}/{n:,}")
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    return time.perf_counter() - t


def real_cost(golds: list[dict[str, Any]]) -> float:
    """CPU ms per real corpus article, caches emptied before each (min of 5 runs)."""

    def once() -> None:
        for g in golds:
            _tokens.cache_clear()
            segment_terms.cache_clear()
            document_vector(g["title"], g.get("subtitle"), g["body"])

    document_vector("준비", None, "분석기를 먼저 불러 둔다.")
    return 1000 * _common.min_cpu(once, 5) / len(golds)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ilike(conn: Any, pattern: str, filters: dict[str, Any]) -> list[int]:
    where, params = "(title ILIKE %(p)s OR body ILIKE %(p)s)", {"p": f"%{pattern}%"}
    for k, v in filters.items():
        where += f" AND {k} = %({k})s"
        params[k] = v
    sql = f"SELECT id FROM articles WHERE {where} ORDER BY id DESC LIMIT 20"
    return [r[0] for r in conn.execute(sql, params).fetchall()]


def exact_count(conn: Any, q: str, filters: dict[str, Any]) -> int:
    from db.search import _filters

    where, params = _filters(
        filters.get("since"), filters.get("until"), filters.get("portal"),
        filters.get("publisher"), filters.get("section"), "dated_at",
    )  # fmt: skip
    sql = f"SELECT count(*) FROM article_search WHERE terms @@ %(q)s::tsquery {where}"
    return conn.execute(sql, {**params, "q": query_expression(q)}).fetchone()[0]


def _vm_hwm(pid: int) -> int:
    """The peak resident memory of a running process, KiB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def export_table(url: str, n: int) -> None:
    """`sosik export` of a tenth of the articles, then of all, in each format, as the command
    runs (a subprocess): rows/s and peak RSS; flat memory means the two RSS figures match."""
    import os
    import subprocess
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("jsonl", "csv", "parquet"):
            for count in (n // 10, n):
                out = os.path.join(tmp, f"export.{fmt}")
                cmd = [sys.executable, "-m", "crawler.cli", "export", "-f", fmt, "-o", out]
                cmd += ["--limit", str(count)]
                t = time.perf_counter()
                proc = subprocess.Popen(
                    cmd, env={**os.environ, "DATABASE_URL": url}, stderr=subprocess.PIPE
                )
                peak = 0
                while proc.poll() is None:  # VmHWM: the peak since exec (ru_maxrss is not:
                    peak = max(peak, _vm_hwm(proc.pid))  # it keeps the forking parent's)
                    time.sleep(0.02)
                took = time.perf_counter() - t
                err = proc.stderr.read().decode()
                proc.stderr.close()
                if proc.returncode != 0:
                    raise SystemExit(f"export failed: {err}")
                size = os.path.getsize(out)
                rows.append([fmt, count, count / took, peak / 1024, size / 2**20])
    print(
        _common.table(
            ["format", "articles", "rows/s", "peak RSS MiB", "file MiB"],
            rows,
            "4. sosik export (a subprocess, the whole command: start, query, write)",
        )
    )


def quality() -> None:
    """0. The corpus's real articles stored and indexed; for queries written from their texts,
    recall and precision of the top 10 of `find` and of ILIKE against the truth: the articles
    where the query starts a word (삼성 in 삼성전자가, not 전자 in 삼성전자)."""
    import re

    from tests.search.corpus import corpus_articles, item, store_and_index
    from tests.search.test_find import QUERIES as WORDS

    golds = corpus_articles()
    with _common.throwaway_database("sosik_bench_quality") as url, connect(url) as conn:
        ids = store_and_index(conn, [item(g) for g in golds], url)
        texts = {
            i: (g["title"] + "\n" + g["body"]).lower() for i, g in zip(ids, golds, strict=True)
        }
        rows = []
        for q in [*WORDS, "군", "표", "법"]:
            starts = re.compile(r"(?<![가-힣a-z0-9])" + re.escape(q.lower()))
            truth = {i for i, t in texts.items() if starts.search(t)}
            ours = [h["id"] for h in find(conn, q, limit=10).hits]
            theirs = ilike(conn, q, {})[:10]
            rows.append([q, len(truth), *_scores(ours, truth), *_scores(theirs, truth)])
    print(
        _common.table(
            ["query", "articles with it", "find recall", "find precision", "ILIKE recall",
             "ILIKE precision"],
            rows,
            f"0. Quality on the corpus's {len(golds)} real articles: top 10 against the "
            "articles where the query starts a word",
        )
    )  # fmt: skip


def _scores(got: list[int], truth: set[int]) -> tuple[float, float]:
    hit = len(set(got) & truth)
    recall = hit / min(10, len(truth)) if truth else float("nan")
    precision = hit / len(got) if got else float("nan")
    return recall, precision


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=200, help="timed runs of each query")
    ap.add_argument("--ilike-runs", type=int, default=5, help="timed runs of each ILIKE")
    ap.add_argument("--no-export", action="store_true", help="skip part 4 (exports)")
    args = ap.parse_args()
    print(f"# {_common.machine()}")
    print(f"# {_common.versions('kiwipiepy', 'psycopg', 'pgserver')}")
    quality()
    factory = ItemFactory()
    per_article = real_cost(factory.golds)
    with _common.throwaway_database("sosik_bench_search") as url, connect(url) as conn:
        load_s = load(url, factory, args.articles)
        indexer = Indexer(url, batch=200)
        t = time.perf_counter()
        indexer.run_pass(conn)
        index_s = time.perf_counter() - t
        conn.execute("VACUUM ANALYZE article_search")
        conn.execute("ANALYZE articles")
        sizes = conn.execute(
            "SELECT pg_total_relation_size('article_search'),"
            " pg_relation_size('article_search_terms_idx'), pg_total_relation_size('articles')"
        ).fetchone()
        publisher = conn.execute(
            "SELECT publisher FROM articles GROUP BY 1 ORDER BY count(*) LIMIT 1"
        ).fetchone()[0]
        print(
            f"\n{args.articles:,} articles: loaded in {load_s:.0f} s, indexed in {index_s:.0f} s "
            f"({1000 * indexer.stats.seconds / max(1, indexer.stats.indexed):.2f} ms CPU per "
            f"article with paragraphs cached); real corpus articles, nothing cached: "
            f"{per_article:.1f} ms CPU per article"
        )
        print(
            f"index: {sizes[0] / 2**20:,.0f} MiB with its TOAST and indexes (GIN "
            f"{sizes[1] / 2**20:,.0f} MiB), {sizes[0] / args.articles:,.0f} B per article; "
            f"articles table {sizes[2] / 2**20:,.0f} MiB"
        )
        queries = [
            (name, q, {**f, "publisher": publisher} if "publisher" in name else f, pat)
            for name, q, f, pat in QUERIES
        ]
        rows = []
        for name, q, filters, pattern in queries:
            for order in ("relevance", "newest") if q else ("newest",):
                times: list[float] = []
                for _ in range(args.runs):
                    t = time.perf_counter()
                    page = find(conn, q, limit=20, order=order, **filters)
                    times.append(1000 * (time.perf_counter() - t))
                exact = exact_count(conn, q, filters) if q else None
                ref: list[float] = []
                if pattern and order == "newest":
                    for _ in range(args.ilike_runs):
                        t = time.perf_counter()
                        ilike(conn, pattern, {})
                        ref.append(1000 * (time.perf_counter() - t))
                rows.append(
                    [
                        name, order, len(page.hits), page.estimated_total, exact,
                        statistics.median(times), percentile(times, 99),
                        statistics.median(ref) if ref else None, max(ref) if ref else None,
                    ]
                )  # fmt: skip
        p99 = max(r[6] for r in rows)
        print(
            _common.table(
                [
                    "query", "order", "hits", "estimated", "exact", "p50 ms", "p99 ms",
                    "ILIKE p50 ms", "ILIKE max ms",
                ],
                rows,
                f"find(): a page of 20, {args.runs} runs each; ILIKE on title and body, newest "
                f"20, {args.ilike_runs} runs each (the reference, same database, same run)",
            )
        )  # fmt: skip
        print(f"\nworst p99 {p99:.1f} ms: target < 50 ms {_common.verdict(p99 < 50)}")
        if not args.no_export:
            export_table(url, args.articles)


if __name__ == "__main__":
    main()
