"""The network fault table, CI-sized: one replayed crawl (100 distinct articles) with every
network fault at once on seeded shares of the article URLs, through the real engine into a real
PostgreSQL; every row must pass (0 lost, 0 stored twice, every failure named, no `ok` run with
failures). The full size is `make faults-network` (one crawl per fault, 300 articles)."""

from __future__ import annotations

import sys

import pytest

from tests.faults.network import Site, run_mixed, scenarios
from tests.faults.table import print_table

pytestmark = pytest.mark.e2e

SEED = 7  # every scenario gets at least one URL of the 100 with this seed (checked below)


def test_every_network_fault_in_one_crawl_loses_nothing_and_names_every_failure(fresh_db, capsys):
    scs = scenarios(full=False)
    rows = run_mixed(scs, Site.build(100), fresh_db, SEED)
    with capsys.disabled():
        print()
        ok = print_table(rows, sys.stdout)
    by_name = {r.fault: r for r in rows}
    for sc in scs:
        row = by_name[sc.name]
        assert row.pages_affected >= 1, f"seed {SEED} gives {sc.name} no URL"
        if sc.rule.kind not in ("euckr-as-utf8", "utf8-as-euckr", "huge", "garbage", "nested"):
            if sc.rule.kind != "redirect-loop":
                assert row.retried == row.pages_affected, sc.name  # retried before given up
    assert sum(r.failures for r in rows) > 0
    assert by_name["(no fault)"].expected > 0
    assert ok, [(r.fault, r.notes) for r in rows if not r.passed]
