"""Run every benchmark in turn with its default (make bench) size and print their tables.

    .venv/bin/python bench/run_all.py [--out FILE] [--only parse,accuracy,...]

Defaults keep the whole run under ~10 minutes on a 2-core machine: store.py fills the table to
100k rows (`--full` there: 1M), memory.py crawls 10k pages (`--pages 100000` there: the full
run). A script that crashes is reported and the others still run; the exit code is 1 then.
Missed targets are results, not failures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("parse", "accuracy", "store", "e2e", "memory")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="also write everything printed to this file")
    ap.add_argument("--only", help="comma-separated subset of " + ",".join(SCRIPTS))
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(SCRIPTS)
    out = open(args.out, "w", encoding="utf-8") if args.out else None
    failed = []
    t0 = time.perf_counter()
    try:
        for name in names:
            t = time.perf_counter()
            header = f"\n{'=' * 100}\n$ python bench/{name}.py\n"
            _emit(header, out)
            proc = subprocess.Popen(
                [sys.executable, str(HERE / f"{name}.py")],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=HERE.parent,
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                _emit(line, out)
            code = proc.wait()
            _emit(f"\n[{name}: exit {code}, {time.perf_counter() - t:.0f}s]\n", out)
            if code != 0:
                failed.append(name)
        _emit(
            f"\nall benchmarks: {time.perf_counter() - t0:.0f}s; crashed: {failed or 'none'}\n", out
        )
    finally:
        if out:
            out.close()
    return 1 if failed else 0


def _emit(text: str, out) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
    if out:
        out.write(text)


if __name__ == "__main__":
    sys.exit(main())
