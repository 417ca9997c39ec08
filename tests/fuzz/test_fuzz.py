"""Fuzzing every parser on mutated real pages, short mode (`make test`): only ParseError or
NotAnArticle may come out. The long mode, `make fuzz` (tests/fuzz/run.py, >= 10,000 cases),
also holds every parse to a second of CPU and reports the slowest; here, where other tests run
beside, a parse fails only past three seconds (a pathological case, not noise: the slowest
real page, 0.55 MB through the generic extractor, takes 0.6-1.0 s)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz.harness import MAX_SECONDS, Tally, run_case
from tests.fuzz.mutate import Case, cases, sources

POOL = tuple(sources())
EXAMPLES = int(os.environ.get("SOSIK_FUZZ_EXAMPLES", "120"))
TALLY = Tally()


@pytest.mark.skipif(len(POOL) < 30, reason="corpus of saved pages not found (SOSIK_CORPUS)")
@settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same cases every run in CI; `make fuzz` draws new ones
    deadline=None,  # time is checked as CPU time in run_case
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(case=cases(POOL))
def test_parsers_raise_only_parse_errors_and_finish_within_a_second(case: Case):
    run_case(case, TALLY, strict=True, limit=3 * MAX_SECONDS)
