"""Synthetic but realistic article items for the store benchmark, made from the corpus gold.

Each item's body is a random draw of real paragraphs from the corpus's gold bodies, its title
a random run of real words, its publisher, authors and hosts real ones from the gold, its date
spread over the years: so content hashes and headline keys differ, and SimHashes are as far
apart as those of unrelated stories (a near-duplicate cluster is as rare as it is in a crawl).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from crawler.domain.dates import KST
from crawler.domain.items import ArticleItem
from crawler.domain.keys import content_hash, headline_key, with_keys
from tests.corpus import corpus_pages

EPOCH = datetime(2016, 1, 1, tzinfo=KST)
YEARS = 10


class ItemFactory:
    """Items numbered `n`: the same `n` and seed always give the same item."""

    def __init__(self, seed: int = 1) -> None:
        golds = []
        for p in corpus_pages("article"):
            path = p.path.with_suffix(".expected.json")
            if path.exists():
                golds.append(json.loads(path.read_text("utf-8")))
        if not golds:
            raise SystemExit("no corpus gold to build items from (set SOSIK_CORPUS)")
        self.golds = [g for g in golds if g.get("body")]  # the real articles (bench/search.py)
        self.paragraphs = [x for g in golds for x in g["body"].split("\n\n") if len(x) >= 40]
        self.words = [w for x in self.paragraphs for w in x.split() if len(w) >= 2]
        self.publishers = sorted({g["publisher"] for g in golds if g.get("publisher")})
        self.authors = sorted({a for g in golds for a in g.get("authors", [])})
        self.hosts = sorted({urlsplit(g["url"]).hostname or "" for g in golds} - {""})
        self.seed = seed

    def item(
        self, n: int, *, recent: bool = True, exact_keys: bool = True, rng_offset: int = 0
    ) -> ArticleItem:
        """Item number `n`; `recent` dates it in the last 30 days (a crawl), else any of 10
        years (an archive). `exact_keys=False` draws the SimHash at random instead of computing
        it (what a bulk load of background rows can afford; the distribution is the same)."""
        rng = random.Random(self.seed * 1_000_003 + n + rng_offset)
        paras = rng.sample(self.paragraphs, k=min(len(self.paragraphs), rng.randint(6, 14)))
        title = " ".join(rng.sample(self.words, k=rng.randint(5, 9)))
        publisher = rng.choice(self.publishers)
        if recent:
            published = datetime(2026, 11, 1, tzinfo=KST) + timedelta(
                seconds=rng.randint(0, 30 * 86400)
            )
        else:
            published = EPOCH + timedelta(seconds=rng.randint(0, YEARS * 365 * 86400))
        oid, aid = 1 + n % 999, n
        url = f"https://n.news.naver.com/mnews/article/{oid:03d}/{aid:010d}"
        host = self.hosts[n % len(self.hosts)]
        item = ArticleItem(
            url=url,
            portal="naver",
            title=title,
            body="\n\n".join(paras),
            publisher=publisher,
            subtitle=None,
            authors=rng.sample(self.authors, k=min(len(self.authors), rng.randint(1, 2))),
            section=rng.choice(["정치", "경제", "사회", "국제", "스포츠", None]),
            published_at=published.replace(microsecond=0),
            original_url=f"https://{host}/news/article/{n}" if n % 2 else None,
            urls=[f"{url}?sid=100"],
            parser="bench/1",
        )
        if exact_keys:
            return with_keys(item)
        item.headline_key = headline_key(item.title)
        item.content_hash = content_hash(item.body)
        item.simhash = rng.getrandbits(64) - (1 << 63)
        return item
