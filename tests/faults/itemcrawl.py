"""A crawl of given items: `python -m tests.faults.itemcrawl ITEMS.jsonl [-s NAME=VALUE]…`.

The items (spill-file records: `{"type": "article"|"hit", "item": {…}}`, one per line) are
yielded by a spider from one callback and go through sosik's real pipelines, database owner,
run record and summary, as `sosik crawl` would: validate, clean, dedupe, store. Exit code and
summary as `sosik crawl`. For the tests of what the store does with items that no saved page
could carry (a NUL in a body, a 1 MB title), and of the store under a database that fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import scrapy

from crawler.spiders.base import SosikSpider
from pipelines.spill import item_from_record


class ItemsSpider(SosikSpider):
    name = "items"
    portal = "items"

    def __init__(self, items: str = "", *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items_path = Path(items)

    async def start(self) -> Any:
        yield scrapy.Request("data:,items", callback=self.emit, dont_filter=True)

    def emit(self, response: Any) -> Iterator[Any]:
        with open(self.items_path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield item_from_record(json.loads(line))


def write_items(path: Path, items: list[Any]) -> Path:
    """Items as the spider reads them."""
    from pipelines.spill import item_record

    with open(path, "w", encoding="utf-8") as fh:
        for it in items:
            fh.write(json.dumps(item_record(it), ensure_ascii=False) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    from scrapy.crawler import CrawlerProcess

    from crawler.commands.crawl import crawl_settings
    from crawler.report import merge_runs, print_summary
    from db.migrate import upgrade

    ap = argparse.ArgumentParser()
    ap.add_argument("items")
    ap.add_argument("-s", "--set", action="append", default=[])
    ap.add_argument("--log-level", default="WARNING")
    args = ap.parse_args(argv)
    settings = crawl_settings(args)
    settings.set("ROBOTSTXT_OBEY", False, priority="cmdline")
    upgrade(settings.get("STORE_DATABASE_URL") or None)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(ItemsSpider)
    process.crawl(crawler, items=args.items)
    process.start()
    summary = merge_runs([crawler])
    print_summary(summary, sys.stderr)
    return summary.exit_code


if __name__ == "__main__":
    sys.exit(main())
