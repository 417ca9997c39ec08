"""robots.txt obeyed by every request to a site, also those that wait for it together."""

from __future__ import annotations

from typing import Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """RobotsTxtMiddleware whose concurrent waiters each get the parsed robots.txt.

    Scrapy 2.19's middleware lets the requests to a site that arrive while its robots.txt is
    being fetched wait on one Deferred through `maybe_deferred_to_future`, whose callback
    returns None: the first waiter gets the parser, every later one gets None, which the
    middleware reads as "no robots.txt" and lets through. A list page brings many links to one
    site at once, so disallowed pages were fetched. Here each waiter gets the parser from a
    relay that passes the result on to the next.
    """

    async def robot_parser(self, request: Any) -> Any:
        """The site's robots.txt parser; a request that waits for a fetch in progress gets the
        parser too, not None.
        """
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if not isinstance(pending, Deferred):
            return await super().robot_parser(request)
        waiter: Deferred[Any] = Deferred()

        def relay(result: Any) -> Any:
            waiter.callback(result)
            return result  # the next waiter gets it too

        pending.addCallback(relay)
        return await maybe_deferred_to_future(waiter)
