"""RSS of the crawl process over a long replayed crawl: does memory grow with pages crawled?

    .venv/bin/python bench/memory.py                    # 10,000 article pages (make bench)
    .venv/bin/python bench/memory.py --pages 100000     # the documented full run (~20 min here)

The crawl is e2e.py's (bench/_replay.py: `sosik crawl naver_section` in a child process over
a synthetic replay site, every URL a distinct article, into a throwaway PostgreSQL). The RSS of
the crawl process is sampled every second (psutil, else /proc/PID/status VmRSS) together with
the article pages the replay server has served. To keep this process's own memory bounded the
site has at most `--stories` distinct texts; URLs of one story still differ in id, title and
first paragraph, so none of them is a duplicate.

Growth is the peak RSS minus the RSS once 10% of the pages were served (imports, parser
modules, connection and Scrapy's buffers are warm by then); the growth at the end is printed
too. Target: growth < 50 MB at 100k pages.
"""

from __future__ import annotations

import argparse
import time

import _common
import _replay

MB = 1024 * 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=10_000, help="article pages (full run: 100000)")
    ap.add_argument("--stories", type=int, default=1024, help="distinct texts in the site")
    ap.add_argument("--every", type=float, default=1.0, help="seconds between samples")
    args = ap.parse_args()
    print(f"# bench/memory.py — {_common.machine()}")
    print(f"# {_common.versions('Scrapy', 'psutil')}")
    t = time.perf_counter()
    site = _replay.SyntheticSite(args.pages, stories=min(args.stories, args.pages))
    problems = site.check()
    print(
        f"# replay site: {args.pages:,} article URLs, {site.days} day(s) x "
        f"{site.pages_per_day} list pages; built in {time.perf_counter() - t:.1f}s; "
        f"problems: {problems or 'none'}"
    )
    with _common.throwaway_database() as url:
        run = _replay.crawl(site, url, sample_every=args.every)
    samples = [s for s in run.samples if s[2] > 0]
    if not samples:
        print(f"no samples; crawl exit {run.code}\n{run.stderr[-3000:]}")
        return
    total = max(s[1] for s in samples) or 1
    warm = next((s for s in samples if s[1] >= 0.1 * total), samples[0])
    end = samples[-1]
    peak = max(s[2] for s in samples)
    rows = []
    for frac in [i / 10 for i in range(11)]:
        s = next((x for x in samples if x[1] >= frac * total), end)
        rows.append([f"{frac:.0%}", s[1], s[0], s[2] / MB, (s[2] - warm[2]) / MB])
    print(
        _common.table(
            ["pages served", "article pages", "seconds", "RSS MB", "vs 10% MB"],
            rows,
            f"RSS of the crawl process ({len(samples)} samples, every {args.every:g}s)",
        )
    )
    growth = (end[2] - warm[2]) / MB
    peak_growth = (peak - warm[2]) / MB
    pages_after = max(end[1] - warm[1], 1)
    s = run.stats
    print(
        f"\ncrawl: exit {run.code}, {s.get('pages/article', 0):,.0f} article pages, "
        f"{s.get('store/inserted', 0):,.0f} stored, {s.get('elapsed_time_seconds', 0):,.0f}s "
        f"({s.get('pages/article', 0) / max(s.get('elapsed_time_seconds', 1), 1e-9):,.0f} "
        f"article pages/s)"
    )
    print(
        f"RSS at 10%: {warm[2] / MB:,.1f} MB, at the end: {end[2] / MB:,.1f} MB, peak "
        f"{peak / MB:,.1f} MB; growth over the next {pages_after:,} pages: {growth:,.1f} MB "
        f"at the end, {peak_growth:,.1f} MB at the peak"
    )
    # The peak counts: memory the crawl needed at some point is memory the machine must have.
    per_100k = peak_growth / pages_after * 100_000
    label = "measured" if args.pages >= 100_000 else "extrapolated linearly to 100k"
    print(
        f"target growth < 50 MB over 100k pages (peak growth, {label}): {per_100k:,.1f} MB: "
        f"{_common.verdict(per_100k < 50)}"
    )
    if run.code != 0:
        print(run.stderr[-3000:])


if __name__ == "__main__":
    main()
