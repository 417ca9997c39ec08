"""`sosik serve`: a read-only HTTP API and web pages over the stored news (FastAPI, uvicorn).

- `crawler.web.app`: the application (`create_app`): JSON endpoints shaped like the
  `articles_feed` contract, server-rendered pages (Jinja2 templates in `templates/`), static
  files in `static/` (uPlot, MIT licence, vendored: the pages need no network);
- `crawler.web.text`: highlighting, KST times and the comparison of versions, shared with
  `sosik show`.

Every request reads in one read-only transaction as the role `sosik_reader` with a statement
timeout (`reading`), whatever role the connection string logs in as.
"""
