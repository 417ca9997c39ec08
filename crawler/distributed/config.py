"""The distributed frontier's settings and Redis key names, in one place.

Settings (Scrapy settings, `-s NAME=VALUE`, defaults below):

- `REDIS_URL`: the Redis every worker shares (the environment's REDIS_URL fills it).
- `DISTRIBUTED_KEY_PREFIX` ("sosik"): every key starts with it; two deployments (or tests)
  share one Redis under two prefixes.
- `DISTRIBUTED_LEASE_SECONDS` (120): how long a worker holds a request without renewing before
  it returns to the queue. Workers renew every third of it, so only a dead or frozen worker
  loses a lease. Shorter: a dead worker's requests come back sooner; too short: a frozen
  reactor (a long database write) gives requests away that are still being processed.
- `DISTRIBUTED_MAX_DELIVERIES` (5): a request handed out this many times without being
  acknowledged (it kills its workers, or never finishes) goes to the failed list and into the
  run record with its URL.
- `DISTRIBUTED_ACK_INTERVAL` (2 s): how often finished requests are acknowledged, in one
  batch; a request is acknowledged only once the store's watermark says its items are
  committed, and one that has waited this long for it asks the store to write now (shorter
  means smaller write batches; longer means more work redone after a worker dies).
- `DISTRIBUTED_FINGERPRINT_TTL` (3 days): request fingerprints are kept in generations of this
  length; a request is "seen" if its fingerprint is in the current or the previous generation,
  so one is remembered between TTL and 2×TTL and Redis holds at most two generations.
- `DISTRIBUTED_SITE_RATE` (1.0): requests per second per site (host) across all workers; 0 turns
  the shared budget off. `DISTRIBUTED_SITE_RATES` ({host: rate}) overrides it per site;
  `sosik enqueue` writes both into Redis so every worker applies the same numbers.
- `DISTRIBUTED_LOOKAHEAD` (0.25 s): a worker takes a request only if its site's next slot is at
  most this far ahead, so waiting for a site's slot never holds a download slot that another
  site could use.
- `DISTRIBUTED_POLL_INTERVAL` (0.1 s): how often an idle worker looks for new work.
- `DISTRIBUTED_IDLE_TIMEOUT` (0 = never): a worker with nothing to do for this long exits.
- `DISTRIBUTED_DONE_TTL` (1 day): how long a finished job's keys stay for `sosik queue`.
"""

from __future__ import annotations

import os
from typing import Any

DEFAULTS: dict[str, Any] = {
    "DISTRIBUTED_KEY_PREFIX": "sosik",
    "DISTRIBUTED_LEASE_SECONDS": 120.0,
    "DISTRIBUTED_MAX_DELIVERIES": 5,
    "DISTRIBUTED_ACK_INTERVAL": 2.0,
    "DISTRIBUTED_FINGERPRINT_TTL": 3 * 86400,
    "DISTRIBUTED_SITE_RATE": 1.0,
    "DISTRIBUTED_SITE_RATES": {},
    "DISTRIBUTED_LOOKAHEAD": 0.25,
    "DISTRIBUTED_POLL_INTERVAL": 0.1,
    "DISTRIBUTED_IDLE_TIMEOUT": 0.0,
    "DISTRIBUTED_DONE_TTL": 86400,
}
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Settings that are each host's own and never travel with a job to the workers.
LOCAL_ONLY = ("REDIS_URL", "STORE_DATABASE_URL", "LOG_LEVEL", "LOG_FILE", "SOSIK_RUN_ID")


def setting(settings: Any, name: str) -> Any:
    """A distributed setting's value: the Scrapy setting if set, else the default above."""
    default = DEFAULTS[name]
    if isinstance(default, dict):
        return settings.getdict(name, default)
    if isinstance(default, float):
        return settings.getfloat(name, default)
    if isinstance(default, int):
        return settings.getint(name, default)
    return settings.get(name) or default


def redis_url(settings: Any = None) -> str:
    """REDIS_URL from the settings, else the environment, else the local default."""
    url = settings.get("REDIS_URL") if settings is not None else None
    return url or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


class Keys:
    """Key names under one prefix. A frontier is one spider of one job."""

    def __init__(self, prefix: str = "sosik") -> None:
        self.prefix = prefix

    # jobs and workers
    @property
    def job_seq(self) -> str:
        """Counter that numbers the jobs."""
        return f"{self.prefix}:jobseq"

    @property
    def jobs(self) -> str:
        """Sorted set: job id -> when it was created (Redis time)."""
        return f"{self.prefix}:jobs"

    def job(self, job: str) -> str:
        """Hash of one job: run_id, portal, spiders, args, settings, state."""
        return f"{self.prefix}:job:{job}"

    def job_stats(self, job: str) -> str:
        """Hash of one job's numeric stats, summed over every worker."""
        return f"{self.prefix}:job:{job}:stats"

    def job_errors(self, job: str) -> str:
        """List of one job's errors as JSON (kind, url, reason), capped."""
        return f"{self.prefix}:job:{job}:errors"

    @property
    def workers(self) -> str:
        """Hash: worker id -> JSON (host, pid, started, last beat, jobs)."""
        return f"{self.prefix}:workers"

    # frontier of one spider in one job
    def frontier(self, job: str, spider: str) -> str:
        """Prefix of one spider's frontier in one job: its queue, leases, counts, failed entries and
        fingerprints are keys under it.
        """
        return f"{self.prefix}:f:{job}:{spider}"

    def links(self, job: str, spider: str) -> str:
        """Set of the list links met by one spider of one job (digests), shared by its workers."""
        return f"{self.frontier(job, spider)}:links"

    # sites (global: one budget per site whatever the job)
    @property
    def site_prefix(self) -> str:
        """Prefix of the per-site keys (slots, Retry-After holds): one budget per site, whatever the
        job.
        """
        return f"{self.prefix}:site"

    @property
    def rates(self) -> str:
        """Hash: host -> requests per second ("*" = the default)."""
        return f"{self.prefix}:rates"
