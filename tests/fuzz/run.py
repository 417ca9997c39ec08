"""The long fuzz run (`make fuzz`): N mutated real pages through every parser, in W processes.

    python -m tests.fuzz.run [--cases 10000] [--workers 2] [--seed N]

Prints the number of cases and parses, the outcomes, every unexpected exception (type, where,
the last frames) and the slowest parse (CPU seconds, which parser on which mutated page); exits
1 when any parser raised something other than ParseError/NotAnArticle or took over a second.
Cases are drawn anew from the seed (default: random, printed so a run can be repeated).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time

from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.fuzz.harness import MAX_SECONDS, Tally, run_case
from tests.fuzz.mutate import Case, cases, sources


def worker(n: int, at_seed: int) -> Tally:
    """Run `n` cases drawn from `at_seed`, recording (not raising) every problem."""
    tally = Tally()
    pool = tuple(sources())

    @seed(at_seed)
    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases(pool))
    def fuzz(case: Case) -> None:
        run_case(case, tally, strict=False)

    fuzz()
    return tally


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # internal: one process
    args = ap.parse_args(argv)
    if args.worker is not None:
        json.dump(worker(args.cases, args.seed).to_json(), sys.stdout)
        return 0
    base = args.seed if args.seed is not None else random.randrange(2**31)
    t0 = time.perf_counter()
    per = -(-args.cases // args.workers)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fuzz.run",
                "--worker",
                str(i),
                "--cases",
                str(per),
                "--seed",
                str(base + i),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for i in range(args.workers)
    ]
    total = Tally()
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            print(f"fuzz worker failed (exit {p.returncode})", file=sys.stderr)
            return 1
        total.merge(json.loads(out))
    wall = time.perf_counter() - t0
    print(f"fuzz: seed {base}, {args.workers} workers, {wall:.0f} s")
    print(f"cases: {total.cases} mutated pages, {total.parses} parses")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(total.outcomes.items())))
    print(f"unexpected exceptions: {len(total.unexpected)}")
    for u in total.unexpected[:20]:
        print(f"  {u['error']}\n    {u['where']}\n{u['traceback']}")
    took, where = total.slowest
    print(f"slowest parse: {took:.3f} s CPU ({where})")
    return 0 if not total.unexpected and took <= MAX_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
