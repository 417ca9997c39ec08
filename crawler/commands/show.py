"""`sosik show ID|URL`: one stored article for a person: its text, every address, every
version and what changed, the other articles of its story, the searches that found it.

A URL finds the article by any of its addresses (as given, or in canonical form). Reads as
`sosik_reader` (db.readers.reading), like `sosik serve`. `--json` prints the same as
`GET /articles/{id}`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from crawler.commands import CommandError

WIDTH = 88


def add_parser(sub: Any) -> None:
    """`sosik show`'s arguments."""
    p = sub.add_parser("show", help="one article: text, addresses, versions, cluster, search hits")
    p.add_argument("article", metavar="ID|URL", help="an article id or any of its URLs")
    p.add_argument("--json", action="store_true", help="JSON, as GET /articles/{id} gives")
    p.set_defaults(func=show)


def show(args: argparse.Namespace) -> int:
    """Prints one article found by id or by any of its URLs (as given or canonical), as text or
    JSON; CommandError when none is stored.
    """
    from fastapi.encoders import jsonable_encoder

    from crawler.commands.runs import _schema_needed
    from crawler.domain.urls import canonical_url
    from db import readers
    from db.connection import connect

    wanted = args.article.strip()
    with connect() as conn, _schema_needed(), readers.reading(conn):
        if wanted.isdigit():
            article_id: int | None = int(wanted)
        else:
            try:
                forms = [wanted, canonical_url(wanted)]
            except ValueError:
                forms = [wanted]
            article_id = readers.article_id_for_url(conn, forms)
        row = readers.article(conn, article_id) if article_id else None
    if row is None:
        raise CommandError(f"no stored article at {wanted} (see `sosik articles` or `sosik runs`)")
    if args.json:
        print(json.dumps(jsonable_encoder(row), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(format_article(row))
    return 0


def _fill(text: str, indent: str = "") -> str:
    """`text` wrapped at WIDTH terminal columns (a Hangul syllable takes two), between words."""
    from crawler.commands.demo import width

    lines, line = [], indent
    for word in text.split():
        if line.strip() and width(line) + 1 + width(word) > WIDTH:
            lines.append(line)
            line = indent
        line += (" " if line.strip() else "") + word
    lines.append(line)
    return "\n".join(lines)


def format_article(a: dict[str, Any]) -> str:
    """The article as `sosik show` prints it (pure)."""
    from crawler.web.text import compare, kst, paragraphs

    head = " · ".join(filter(None, [a["portal"], a["publisher"], a["section"]]))
    out = [f"article {a['id']}  (version {a['version']}, cluster {a['cluster_id']})  {head}"]
    out.append(_fill(a["title"]))
    if a["subtitle"]:
        out.append(_fill(a["subtitle"], "  "))
    if a["authors"]:
        out.append("by " + ", ".join(a["authors"]))
    out.append(f"published {kst(a['published_at'])} · updated {kst(a['updated_at'])}")
    out.append(f"first seen {kst(a['first_seen_at'])} · last seen {kst(a['last_seen_at'])}")
    out.append("")
    out += [_fill(p) + "\n" for p in paragraphs(a["body"])]
    out.append(f"addresses ({len(a['addresses'])}):")
    for u in a["addresses"]:
        mark = " (canonical)" if u["is_canonical"] else ""
        out.append(f"  {u['url']}{mark}  first seen {kst(u['first_seen_at'])}")
    versions = a["versions"]
    out.append(f"\nversions ({len(versions)}):")
    for v in versions:
        until = f"until {kst(v['superseded_at'])}" if v["superseded_at"] else "current"
        out.append(f"  v{v['version']}  captured {kst(v['captured_at'])}, {until}")
    for old, new in zip(versions, versions[1:], strict=False):
        out.append(f"  changes v{old['version']} -> v{new['version']}:")
        if old["title"] != new["title"]:
            out.append(f"    title: [-{old['title']}-] {{+{new['title']}+}}")
        for para in compare(old["body"], new["body"]):
            if all(p.change == "same" for p in para):
                continue
            line = "".join(
                p.text if p.change == "same" else
                (f"{{+{p.text}+}}" if p.change == "added" else f"[-{p.text}-]")
                for p in para
            )  # fmt: skip
            out.append(_fill(line, "    "))
    mates = a["cluster"]
    out.append(f"\ncluster {a['cluster_id']}: {len(mates)} other article(s) of the story")
    for m in mates:
        out.append(f"  {m['id']:>8}  {m['publisher'] or '-'}  {m['title']}")
    out.append(f"\nsearch hits ({len(a['hits'])}):")
    for h in a["hits"]:
        out.append(
            f"  {h['portal']} {h['query']!r} page {h['page']} rank {h['rank']}"
            f"  first seen {kst(h['first_seen_at'])}"
        )
    return "\n".join(out) + "\n"
