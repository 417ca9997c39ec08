# sosik: the two commands a new machine needs (Python >= 3.11 and make).
#   make run   [QUERY=엔비디아] [PAGES=1]   live crawl of Naver News into PostgreSQL
#   make test                               the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
QUERY  ?= 엔비디아
PAGES  ?= 1
STAMP  := $(VENV)/.installed

.PHONY: run test bench install lint clean distributed

install: $(STAMP)

# An old pip silently skips extras that trafilatura needs, so pip is upgraded first.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

run: $(STAMP)
	$(BIN)/sosik db upgrade
	$(BIN)/sosik crawl naver --query "$(QUERY)" --pages $(PAGES)

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/run_all.py

# Long runs of the distributed frontier: its fault rows (a worker SIGKILLed, Redis restarted) on
# a 300-article site, then bench/distributed.py (1, 2, 3 workers; plain scrapy-redis).
distributed: $(STAMP)
	$(BIN)/python -m tests.faults.distributed --articles 300
	$(BIN)/python bench/distributed.py

lint: $(STAMP)
	$(BIN)/ruff check crawler pipelines db tests bench
	$(BIN)/ruff format --check crawler pipelines db tests bench

clean:
	rm -rf $(VENV) .pytest_cache
