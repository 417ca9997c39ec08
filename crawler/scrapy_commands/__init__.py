"""Scrapy commands of the sosik project (COMMANDS_MODULE): `crawl` replaces Scrapy's own."""
