"""Naver: articles on n.news.naver.com and its older shapes (articles.py), news search
(search.py), section lists (lists.py). The registry reads the three entry points from here.
"""

from crawler.parsers.naver.articles import parse_article
from crawler.parsers.naver.lists import parse_list
from crawler.parsers.naver.search import is_empty_answer, page_number, parse_search

__all__ = ["is_empty_answer", "page_number", "parse_article", "parse_list", "parse_search"]
