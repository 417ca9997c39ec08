"""The hand-off between the frontier and the store: the store's durability watermark, which
the distributed scheduler acknowledges on (the crawls in test_workers.py run it for real)."""

from __future__ import annotations

from pipelines.store import Watermark


def test_the_watermark_stops_at_the_first_item_not_settled() -> None:
    w = Watermark()
    numbers = [w.take() for _ in range(6)]
    assert numbers == [1, 2, 3, 4, 5, 6] and w.handed == 6
    assert w.durable == 0  # nothing committed yet
    w.settle([2, 3])  # a later batch committed first (hits and articles are separate batches)
    assert w.durable == 0
    w.settle([1])
    assert w.durable == 3
    w.settle([5, 6])  # 4 is in a spill file: not durable, and neither is anything after it
    assert w.durable == 3
    w.take()
    assert w.durable == 3 and w.handed == 7
    w.settle([4])  # written back from the spill file
    assert w.durable == 6
    w.settle([7])
    assert w.durable == w.handed == 7
