"""`sosik queue`: the shared frontier at a glance.

    sosik queue [--json] [--failed]

Per job (active, and finished ones until their keys expire): per spider, requests pending, in
flight (per worker, with the age of its oldest lease), done, failed, reclaimed (leases that
ran out and went back to the queue), late acknowledgements, duplicates filtered; the workers
seen in the last minute; and per site the requests granted per second over the last minute
next to its budget. `--failed` lists failed requests with their URL and reason.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from crawler.commands import CommandError

RATE_WINDOW = 60  # seconds of 10-second buckets behind the per-site rate
BUCKET = 10


def add_parser(sub: Any) -> None:
    """`sosik queue`'s arguments."""
    p = sub.add_parser("queue", help="the distributed frontier: pending, in flight, done, rates")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--failed", action="store_true", help="list failed requests")
    p.add_argument(
        "-s", "--set", action="append", metavar="NAME=VALUE", help="a setting (key prefix, Redis)"
    )
    p.set_defaults(func=run_queue)


def snapshot(guard: Any, keys: Any) -> dict[str, Any]:
    """Everything `sosik queue` shows, as plain data."""
    from crawler.distributed.frontier import Frontier
    from crawler.distributed.jobs import JobBoard

    board = JobBoard(guard, keys)
    now = board.redis_time()
    jobs = []
    for job in board.all():
        frontiers = []
        for spider in job.spiders:
            f = Frontier(guard, keys, keys.frontier(job.id, spider), "queue")
            counts = f.counts()
            workers: dict[str, dict[str, Any]] = {}
            flight = f.in_flight()
            for _, worker, at in flight:
                w = workers.setdefault(worker, {"in_flight": 0, "oldest_lease_s": 0.0})
                w["in_flight"] += 1
                w["oldest_lease_s"] = round(max(w["oldest_lease_s"], now - at), 3)
            frontiers.append(
                {
                    "spider": spider,
                    "pending": counts.get("pending", 0),
                    "in_flight": len(flight),
                    **{
                        k: counts.get(k, 0)
                        for k in ("done", "failed", "reclaimed", "released", "late", "pushed")
                    },
                    "duplicates": counts.get("filtered", 0),
                    "workers": workers,
                    "failed_requests": f.failed(),
                }
            )
        jobs.append(
            {
                "job": job.id,
                "run_id": job.run_id,
                "portal": job.portal,
                "state": job.state,
                "age_s": round(now - job.created, 1),
                "frontiers": frontiers,
            }
        )
    r = guard.redis
    workers = {}
    for wid, raw in guard.call(r.hgetall, keys.workers).items():
        info = json.loads(raw)
        beat = time.time() - info.get("beat", 0)
        if beat < 60:
            workers[_text(wid)] = {**info, "beat_age_s": round(beat, 1)}
    rates = {_text(k): float(v) for k, v in guard.call(r.hgetall, keys.rates).items()}
    granted: dict[str, int] = {}
    current = int(now // BUCKET)
    first = current - RATE_WINDOW // BUCKET
    pattern = f"{keys.site_prefix}:*:n:*"
    for key in guard.call(lambda: list(r.scan_iter(match=pattern, count=1000))):
        name = _text(key)[len(keys.site_prefix) + 1 :]
        site, _, bucket = name.rpartition(":n:")
        if first <= int(bucket) < current:
            granted[site] = granted.get(site, 0) + int(guard.call(r.get, key) or 0)
    sites = {
        site: {
            "requests_per_s": round(n / RATE_WINDOW, 3),
            "budget_per_s": rates.get(site, rates.get("*")),
        }
        for site, n in sorted(granted.items())
    }
    return {"jobs": jobs, "workers": workers, "sites": sites, "default_budget": rates.get("*")}


def run_queue(args: argparse.Namespace) -> int:
    """Prints the distributed frontier's state (or --json); CommandError when Redis cannot be
    reached.
    """
    from crawler.commands.crawl import crawl_settings
    from crawler.distributed.config import Keys, redis_url, setting
    from crawler.distributed.redisconn import Guard, RedisDown, client

    settings = crawl_settings(argparse.Namespace(set=args.set, log_level="WARNING"))
    guard = Guard(client(redis_url(settings)))
    try:
        snap = snapshot(guard, Keys(setting(settings, "DISTRIBUTED_KEY_PREFIX")))
    except RedisDown as e:
        raise CommandError(f"cannot reach Redis: {e}") from None
    if args.json:
        json.dump(snap, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    write(snap, sys.stdout, failed=args.failed)
    return 0


def write(snap: dict[str, Any], out: Any, failed: bool = False) -> None:
    """The snapshot as text: per job its frontiers' counts and workers' leases (with `failed`, the
    failed requests and why), the live workers and each site's request rate against its budget.
    """
    if not snap["jobs"]:
        out.write("no jobs\n")
    for job in snap["jobs"]:
        out.write(
            f"job {job['job']} (run {job['run_id']}) {job['portal']}  {job['state']}  "
            f"age {job['age_s']:.0f}s\n"
        )
        for f in job["frontiers"]:
            out.write(
                f"  {f['spider']:<14} pending {f['pending']}  in flight {f['in_flight']}  "
                f"done {f['done']}  failed {f['failed']}  reclaimed {f['reclaimed']}  "
                f"late {f['late']}  duplicates {f['duplicates']}\n"
            )
            for wid, w in sorted(f["workers"].items()):
                out.write(
                    f"    {wid}: {w['in_flight']} in flight, oldest lease "
                    f"{w['oldest_lease_s']:.1f}s\n"
                )
            if failed:
                for fr in f["failed_requests"]:
                    out.write(f"    failed: {fr.get('url')}: {fr.get('reason')}\n")
    out.write("workers\n" if snap["workers"] else "no workers seen in the last minute\n")
    for wid, w in sorted(snap["workers"].items()):
        jobs = ", ".join(w.get("jobs") or []) or "idle"
        out.write(f"  {wid}  beat {w['beat_age_s']:.1f}s ago  {jobs}\n")
    if snap["sites"]:
        out.write(f"sites (requests/s over the last {RATE_WINDOW}s, budget)\n")
    for site, s in snap["sites"].items():
        budget = s["budget_per_s"]
        label = "off" if not budget else f"{budget:g}/s"
        out.write(f"  {site:<28} {s['requests_per_s']:.2f}/s  budget {label}\n")


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)
