"""Spiders navigate (search pages, paging, date windows, article links); parsers extract."""
