"""`scrapy crawl SPIDER -a NAME=VALUE …` with the exit codes and settings of `sosik crawl`.

Scrapy's own `crawl` exits 0 whatever happened to the crawl and knows nothing of sosik's
environment. This one reads SOSIK_CONTACT, SOSIK_ARCHIVE and DATABASE_URL like `sosik crawl`
(crawler.launch.apply_environment; `-s` still wins), checks the spider arguments with the same
rules (crawler.arguments, errors name `-a NAME`), brings the schema up to date, prints the same
summary and exits with the same code: 0 ok, 1 errors or failed, 2 degraded, 64 usage error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError as ScrapyUsageError

from crawler.errors import UsageError, run_guarded

PROG = "scrapy crawl"


def _defaults() -> Any:
    """Scrapy's and sosik's settings before the command line: what `-s` values must fit."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    return settings


class Command(ScrapyCrawl):
    """`scrapy crawl` with sosik's checks, settings and exit codes (those of `sosik crawl`)."""

    def short_desc(self) -> str:
        """The one-line summary `scrapy -h` shows for this command."""
        return "Run a sosik spider (exit codes and settings as `sosik crawl`)"

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        """Options, environment and spider arguments checked before Scrapy starts logging."""
        code = run_guarded(PROG, lambda: self._check(args, opts))
        if code:
            sys.exit(code)

    def _check(self, args: list[str], opts: argparse.Namespace) -> int:
        from scrapy.spiderloader import SpiderLoader
        from scrapy.utils.conf import arglist_to_dict

        from crawler.arguments import check_overrides, check_spider_args, scrapy_flag
        from crawler.launch import apply_environment

        try:
            super().process_options(args, opts)
        except ScrapyUsageError as e:
            raise UsageError(str(e) or "see scrapy crawl -h") from None
        check_overrides(arglist_to_dict(opts.set), _defaults())
        apply_environment(self.settings)
        if len(args) != 1:
            raise UsageError("give one spider: scrapy crawl SPIDER [-a NAME=VALUE …]")
        loader = SpiderLoader.from_settings(self.settings)
        if args[0] not in loader.list():
            raise UsageError(f"unknown spider {args[0]!r}; one of {', '.join(loader.list())}")
        check_spider_args(loader.load(args[0]), opts.spargs, scrapy_flag)
        return 0

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Prepares the database and runs the spider; `exitcode` is the run's verdict as
        `sosik crawl` reports it (or the exit code of the error that stopped it), not Scrapy's.
        """
        self.exitcode = run_guarded(PROG, lambda: self._crawl(args[0], opts.spargs))

    def _crawl(self, spider: str, spargs: dict[str, Any]) -> int:
        from crawler.launch import finish, prepare_database, quiet_logs
        from crawler.report import merge_runs

        assert self.crawler_process is not None
        prepare_database(self.settings)
        crawler = self.crawler_process.create_crawler(spider)
        self.crawler_process.crawl(crawler, **spargs)
        quiet_logs()
        self.crawler_process.start()
        return finish(merge_runs([crawler]), sys.stderr, PROG)
