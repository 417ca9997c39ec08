"""Request fingerprints shared by every worker, bounded by rotation.

scrapy-redis keeps fingerprints in one set that grows for as long as the crawl lives (#144).
Here they live in generations: a fingerprint goes into the set of the current generation
(Redis time // `DISTRIBUTED_FINGERPRINT_TTL`), and a request is "seen" if its fingerprint is
in the current or the previous generation. Each generation expires after two TTLs, so Redis
holds at most two generations of one job, and a job's fingerprints go with the job's keys when
it ends. Fingerprints are Scrapy's own request fingerprints (so they agree with Scrapy's
duplicate filter), kept as their first 16 bytes: two different requests collide with odds of
about n²/2¹²⁹, nothing at crawl sizes.

What an error costs: the filter answers "not seen" for a request older than one to two TTLs,
which then is fetched again; its article is found stored by URL and is not stored twice (the
dedupe stays in PostgreSQL). A false "seen" would be worse, a page never fetched: an article
missing from this job, or the rest of a result list never paged; that is why this is a set of
exact fingerprints, not a Bloom filter (whose errors are false "seen").
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy_redis.dupefilter import RFPDupeFilter

from crawler.distributed.frontier import Frontier
from crawler.distributed.redisconn import RedisDown

logger = logging.getLogger(__name__)
FINGERPRINT_BYTES = 16


class RotatingDupeFilter(RFPDupeFilter):
    """scrapy-redis's Redis dupefilter with rotating generations and Scrapy's fingerprints."""

    def __init__(self, frontier: Frontier, fingerprinter: Any, debug: bool = False) -> None:
        super().__init__(frontier.guard.redis, key=f"{frontier.base}:fp", debug=debug)
        self.frontier = frontier
        self.fingerprinter = fingerprinter

    def request_fingerprint(self, request: Any) -> bytes:  # type: ignore[override]
        """Scrapy's request fingerprint, cut to FINGERPRINT_BYTES (16) to keep Redis small."""
        return self.fingerprinter.fingerprint(request)[:FINGERPRINT_BYTES]

    def request_seen(self, request: Any) -> bool:
        """Seen before (and now remembered). While Redis is away: not seen (fetched; the
        database dedupes what it yields)."""
        try:
            return self.frontier.seen(self.request_fingerprint(request))
        except RedisDown:
            return False

    def close(self, reason: str = "") -> None:
        """Keep the fingerprints: other workers share them (scrapy-redis deletes them here)."""

    def clear(self) -> None:
        """Deletes every fingerprint generation of this frontier (all workers lose them)."""
        for key in self.server.scan_iter(match=f"{self.key}:*"):
            self.server.delete(key)
