"""The crawl's Scrapy extensions: the one owner of the database and the run record
(owner.py, with the resume filter it feeds), the live progress line (progress.py) and the
Prometheus endpoint (metrics.py). Pipelines, middlewares and spiders reach the run through the
owner's `run_context`, never through `db` themselves.
"""
