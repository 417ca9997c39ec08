"""robots.txt obeyed by every request of every worker, also those that wait for it together.

Scrapy 2.19's RobotsTxtMiddleware lets the requests to a site that arrive while its robots.txt
is being fetched wait on one Deferred, through `maybe_deferred_to_future`, whose callback
returns None: the first waiter gets the parsed robots.txt, every later one gets None, which the
middleware reads as "no robots.txt" and lets through. A worker takes up to 16 requests at once,
several often for one site it has not met yet, so disallowed pages were fetched. Here each
waiter gets the parser from a relay that passes the result on.

Installed in distributed crawlers (crawler/distributed/worker.py); local crawls have the same
Scrapy bug and would want the same class in crawler/middlewares/retry.py.
"""

from __future__ import annotations

from typing import Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """RobotsTxtMiddleware whose concurrent waiters each get the parsed robots.txt."""

    async def robot_parser(self, request: Any) -> Any:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if not isinstance(pending, Deferred):
            return await super().robot_parser(request)
        waiter: Deferred[Any] = Deferred()

        def relay(result: Any) -> Any:
            waiter.callback(result)
            return result  # the next waiter gets it too

        pending.addCallback(relay)
        return await maybe_deferred_to_future(waiter)
