"""sosik: crawl Korean news portals into PostgreSQL."""
