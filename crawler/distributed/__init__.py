"""Distributed crawling: one frontier in Redis shared by any number of `sosik worker`s.

Built on scrapy-redis's Scheduler, queue and dupefilter classes (subclassed), with:

- codec.py: requests as versioned JSON (never pickle);
- scripts.py: the frontier's atomic Redis operations (Lua) and its key layout;
- frontier.py: the reliable queue (leases, acknowledgements, per-site queues);
- dupefilter.py: fingerprints in rotating generations (bounded);
- budget.py: one politeness budget per site across workers (GCRA slots, Retry-After holds);
- scheduler.py: the worker's Scrapy scheduler (hand-out, completion, acknowledgement);
- jobs.py: jobs (enqueue, the single finisher, rolled-up stats);
- worker.py: the worker process (crawlers per job, idle timeout, SIGTERM);
- redisconn.py: a Redis client that survives outages;
- handoff.py: the one place that meets the run record and the store;
- config.py: settings and key names.

The README's "Distributed crawling" section says how to run it and what it guarantees.
"""
