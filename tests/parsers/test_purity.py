"""Parsers are pure: no Scrapy, Twisted, network, clock or database imports (DESIGN.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PARSERS = sorted((Path(__file__).parents[2] / "crawler" / "parsers").rglob("*.py"))
FORBIDDEN_MODULES = (
    "scrapy",
    "twisted",
    "psycopg",
    "requests",
    "urllib.request",
    "http.client",
    "socket",
    "db",
    "pipelines",
    "time",
    "asyncio",
    "sqlalchemy",
    "httpx",
)


def _imports(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", PARSERS, ids=[str(p.relative_to(p.parents[2])) for p in PARSERS])
def test_parser_imports_nothing_impure(path):
    tree = ast.parse(path.read_text("utf-8"))
    bad = [
        n for n in _imports(tree) if any(n == m or n.startswith(m + ".") for m in FORBIDDEN_MODULES)
    ]
    assert bad == [], f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", PARSERS, ids=[str(p.relative_to(p.parents[2])) for p in PARSERS])
def test_parser_reads_no_clock(path):
    src = path.read_text("utf-8")
    for call in ("datetime.now(", "datetime.today(", "date.today(", "datetime.utcnow("):
        assert call not in src, f"{path.name} reads the clock ({call}); use page.fetched_at"
