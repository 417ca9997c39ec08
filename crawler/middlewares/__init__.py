"""The crawl's downloader middlewares, in one place: retries that wait without holding a slot
(retry.py), robots.txt for every waiting request (robots.py), the archive of fetched pages
(archive.py), and replay from saved pages (replay.py, with the local server it talks to). Settings name them in DOWNLOADER_MIDDLEWARES.
"""
