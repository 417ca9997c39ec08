"""CPU per article page: sosik's parser + cleaning against lxml's bare parse and trafilatura.

    .venv/bin/python bench/parse.py [--repeat 20] [--profile]

Every corpus article page (SOURCES.tsv, page_type article) is processed by each contender
many times, interleaved round by round so that a noisy neighbour hurts all of them alike; the
figure per page is the smallest CPU time (time.process_time) seen. Contenders:

- lxml: `lxml.html.document_fromstring` of the page's bytes with the encoding given; the floor
  any lxml-based extractor stands on, and the reference of the ratios.
- sosik: `tests.corpus.extract_article(Page(...))`, what a crawl stores (decode, parse once,
  site parser, cleaning); split into `tree` (decode + parse), `parser` (the site parser on the
  tree) and `clean` (pipelines.text), each measured separately.
- trafilatura: `trafilatura.bare_extraction(bytes, url=…, with_metadata=True)`, its default
  settings with the metadata sosik also extracts.

Targets: sosik ≤ 2× lxml, trafilatura ≥ 5× slower than sosik (totals over all pages).
"""

from __future__ import annotations

import argparse
import gc
import time
from datetime import datetime

import _common
import lxml.html

from crawler.domain.dates import KST
from crawler.parsers import Page, parse_article
from crawler.parsers.page import decode_html
from tests.corpus import corpus_pages, extract_article

FETCHED = datetime(2026, 1, 1, tzinfo=KST)
TOOLS = ("lxml", "tree", "parser", "sosik", "trafilatura")


def contenders(url: str, body: bytes) -> dict[str, object]:
    import trafilatura

    enc = decode_html(body)[1]
    parser = lxml.html.HTMLParser(encoding=enc)
    return {
        "lxml": lambda: lxml.html.document_fromstring(body, parser=parser),
        "tree": lambda: Page(url, body, fetched_at=FETCHED).tree,
        "parser": lambda: parse_article(Page(url, body, fetched_at=FETCHED)),
        "sosik": lambda: extract_article(Page(url, body, fetched_at=FETCHED)),
        "trafilatura": lambda: trafilatura.bare_extraction(body, url=url, with_metadata=True),
    }


def measure(repeat: int) -> list[dict[str, object]]:
    pages = [(p, p.path.read_bytes()) for p in corpus_pages("article")]
    if not pages:
        raise SystemExit("no corpus article pages (set SOSIK_CORPUS)")
    runs = []
    for p, body in pages:
        fns = contenders(p.url, body)
        item = extract_article(Page(p.url, body, fetched_at=FETCHED))  # warm up imports, caches
        for fn in fns.values():
            fn()
        runs.append({"page": p, "body": body, "fns": fns, "parser_name": item.parser})
    best = [dict.fromkeys(TOOLS, float("inf")) for _ in runs]
    clock = time.process_time
    for r in range(repeat):
        gc.collect()
        order = TOOLS[r % len(TOOLS) :] + TOOLS[: r % len(TOOLS)]
        for run, b in zip(runs, best, strict=True):
            for tool in order:
                # the cheap contenders get three samples a round, trafilatura one
                for _ in range(1 if tool == "trafilatura" else 3):
                    t = clock()
                    run["fns"][tool]()
                    b[tool] = min(b[tool], clock() - t)
    for run, b in zip(runs, best, strict=True):
        run["best"] = b
    return runs


def report(runs: list[dict[str, object]], repeat: int) -> tuple[float, float]:
    ms = 1000.0
    rows = []
    tot = dict.fromkeys(TOOLS, 0.0)
    worst = 0.0
    for run in runs:
        b = run["best"]
        for t in TOOLS:
            tot[t] += b[t]
        worst = max(worst, b["sosik"] / b["lxml"])
        rows.append(
            [
                f"{run['page'].site}/{run['page'].name}",
                run["parser_name"],
                len(run["body"]) // 1024,
                b["lxml"] * ms,
                b["sosik"] * ms,
                b["tree"] * ms,
                max(b["parser"] - b["tree"], 0.0) * ms,
                max(b["sosik"] - b["parser"], 0.0) * ms,
                b["trafilatura"] * ms,
                f"{b['sosik'] / b['lxml']:.2f}×",
                f"{b['trafilatura'] / b['sosik']:.1f}×",
            ]
        )
    n = len(runs)
    rows.append(
        [
            f"TOTAL ({n} pages)",
            "",
            sum(len(r["body"]) for r in runs) // 1024,
            tot["lxml"] * ms,
            tot["sosik"] * ms,
            tot["tree"] * ms,
            (tot["parser"] - tot["tree"]) * ms,
            (tot["sosik"] - tot["parser"]) * ms,
            tot["trafilatura"] * ms,
            f"{tot['sosik'] / tot['lxml']:.2f}×",
            f"{tot['trafilatura'] / tot['sosik']:.1f}×",
        ]
    )
    headers = [
        "page",
        "parser",
        "KiB",
        "lxml ms",
        "sosik ms",
        "tree",
        "parser",
        "clean",
        "trafilatura ms",
        "sosik/lxml",
        "traf/sosik",
    ]
    print(
        _common.table(
            headers,
            rows,
            f"CPU per page, min of {repeat * 3} (trafilatura {repeat}) runs, time.process_time; "
            "sosik = tree + parser + clean",
        )
    )
    vs_lxml = tot["sosik"] / tot["lxml"]
    vs_traf = tot["trafilatura"] / tot["sosik"]
    share = [
        ["decode + lxml parse (Page.tree)", tot["tree"] * ms, tot["tree"] / tot["sosik"]],
        [
            "site parser on the tree",
            (tot["parser"] - tot["tree"]) * ms,
            (tot["parser"] - tot["tree"]) / tot["sosik"],
        ],
        [
            "cleaning (pipelines.text)",
            (tot["sosik"] - tot["parser"]) * ms,
            (tot["sosik"] - tot["parser"]) / tot["sosik"],
        ],
    ]
    print(_common.table(["where sosik's time goes", "ms (all pages)", "share"], share))
    summary = [
        ["lxml bare parse", n / tot["lxml"], 1.0],
        ["sosik (parse + extract + clean)", n / tot["sosik"], tot["lxml"] / tot["sosik"]],
        ["trafilatura", n / tot["trafilatura"], tot["lxml"] / tot["trafilatura"]],
    ]
    print(_common.table(["contender", "pages/s (one core)", "speed vs lxml"], summary))
    print(
        f"\ntarget sosik <= 2x lxml: {vs_lxml:.2f}x (worst page {worst:.2f}x): "
        f"{_common.verdict(vs_lxml <= 2.0)}"
    )
    print(
        f"target trafilatura >= 5x slower than sosik: {vs_traf:.1f}x: "
        f"{_common.verdict(vs_traf >= 5.0)}"
    )
    return vs_lxml, vs_traf


def profile(runs: list[dict[str, object]], seconds: float = 3.0) -> None:
    """pyinstrument over sosik alone, cycling through the pages for about `seconds`."""
    from pyinstrument import Profiler

    prof = Profiler(interval=0.0002)
    prof.start()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for run in runs:
            run["fns"]["sosik"]()
    prof.stop()
    print(prof.output_text(unicode=False, color=False, show_all=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=20, help="rounds (default 20)")
    ap.add_argument("--profile", action="store_true", help="pyinstrument profile of sosik")
    args = ap.parse_args()
    print(f"# bench/parse.py — {_common.machine()}")
    print(f"# {_common.versions('lxml', 'trafilatura')}")
    runs = measure(args.repeat)
    vs_lxml, _ = report(runs, args.repeat)
    if args.profile or vs_lxml > 2.0:
        print("\nprofile of sosik (pyinstrument):")
        profile(runs)


if __name__ == "__main__":
    main()
