"""The layers import one way (docs/architecture.md): every module of ours is in a layer, and
imports only from the layers its row allows. Read from the source (ast), like the parsers'
purity test, so a forbidden import fails here before anything runs it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("crawler", "pipelines", "db")

# Module prefix -> the prefixes of ours it may import. The most specific prefix wins.
DOMAIN = ("crawler.domain",)
OWNER = ("crawler.runrecord", "crawler.extensions.owner")  # the run, as the crawl's owner holds it
RULES: dict[str, tuple[str, ...]] = {
    # the domain: items, URLs, dates, text, keys, outcomes, portals; nothing else of ours
    "crawler.domain": DOMAIN,
    # pure page readers
    "crawler.parsers": (*DOMAIN, "crawler.parsers"),
    # SQL only, identity keys taken as data
    "db": (*DOMAIN, "db"),
    # spiders: parsers and the domain; the run through its owner, never `db` or a pipeline
    "crawler.spiders": (*DOMAIN, "crawler.parsers", "crawler.spiders", *OWNER),
    # the crawl's services: the domain and `db`, the run through its owner
    "crawler.runrecord": (*DOMAIN, "db"),
    "pipelines": (*DOMAIN, "db", "pipelines", *OWNER),
    "crawler.middlewares": (*DOMAIN, "db", "crawler.middlewares", *OWNER),
    # the owner writes what the store pipeline hands it (pipelines.writing) and spills it
    # when the database is down (pipelines.spill)
    "crawler.extensions": (
        *DOMAIN,
        "db",
        "crawler.extensions",
        "crawler.runrecord",
        "pipelines.writing",
        "pipelines.spill",
    ),  # fmt: skip
}
# The top: the CLI, its commands and what only they use. They may import every layer; no layer
# above may import them (no row allows it).
TOP = (
    "crawler",  # the package itself
    "crawler.cli",
    "crawler.commands",
    "crawler.scrapy_commands",
    "crawler.launch",
    "crawler.errors",
    "crawler.arguments",
    "crawler.scheduler",
    "crawler.settings",
    "crawler.report",
    "crawler.distributed",
    "crawler.web",  # the readers' web service (another branch)
)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(module: str) -> str | None:
    """The rule (most specific prefix) a module falls under; None when it has no place."""
    best = [p for p in (*RULES, *TOP) if _within(module, p)]
    return max(best, key=len) if best else None


def imports_of(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of ours in a source, at any depth (lazy ones too)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in OURS:  # `from crawler import x`: judged as crawler.x
                out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, node.module))
    return [(line, n) for line, n in out if n.split(".")[0] in OURS]


def violations(module: str, source: str) -> list[str]:
    """Every import in `source` that `module`'s layer does not allow."""
    rule = layer_of(module)
    if rule is None or rule in TOP:
        return []
    allowed = RULES[rule]
    bad = []
    for line, name in imports_of(source):
        if not any(_within(name, a) for a in allowed):
            bad.append(f"{module}:{line} imports {name}")
    return bad


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


SOURCES = sorted(p for top in OURS for p in (ROOT / top).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=[module_name(p) for p in SOURCES])
def test_every_module_is_in_a_layer_and_imports_only_below(path):
    module = module_name(path)
    assert layer_of(module) is not None, f"{module} is in no layer: add it to tests/test_layers.py"
    assert violations(module, path.read_text("utf-8")) == []


def test_the_check_finds_a_forbidden_import():
    """The rule table bites: a spider importing `db`, a parser importing a pipeline, the domain
    importing a parser and `db` importing a pipeline are each named, lazy imports too."""
    assert violations("crawler.spiders.base", "def f():\n    from db.pages import x\n") == [
        "crawler.spiders.base:2 imports db.pages"
    ]
    assert violations("crawler.parsers.mk", "import pipelines.text\n") == [
        "crawler.parsers.mk:1 imports pipelines.text"
    ]
    assert violations("crawler.domain.urls", "from crawler.parsers import page\n") != []
    assert violations("db.batch", "from pipelines.prepare import with_keys\n") != []
    assert violations("crawler.parsers.mk", "from crawler.domain.text import norm\n") == []
    assert violations("pipelines.clean", "from crawler import middlewares\n") == [
        "pipelines.clean:1 imports crawler.middlewares"
    ]
    assert violations("crawler.cli", "import db.pages\n") == []  # the top may import anything
