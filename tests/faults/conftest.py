"""A fresh migrated database per test (the end-to-end fixture), for the replayed crawls here."""

from __future__ import annotations

from tests.e2e.conftest import fresh_db

__all__ = ["fresh_db"]
