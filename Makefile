# sosik: the two commands a new machine needs (Python >= 3.11 and make).
#   make run   [QUERY=엔비디아] [PAGES=1]   live crawl of Naver News into PostgreSQL
#   make demo                               offline: a made-up site crawled into PostgreSQL
#   make test                               the whole test suite
#   make faults                             every fault (network, database, process, distributed): one table
#   make faults-network                     the network fault table alone, full size
#   make fuzz [FUZZ_CASES=10000]            fuzz every parser on mutated real pages (long mode)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
QUERY  ?= 엔비디아
PAGES  ?= 1
FUZZ_CASES ?= 10000
STAMP  := $(VENV)/.installed

.PHONY: run demo test bench install lint clean faults faults-network fuzz distributed

install: $(STAMP)

# An old pip silently skips extras that trafilatura needs, so pip is upgraded first.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# The crawl applies the migrations itself; without network it ends in one line (exit 1).
run: $(STAMP)
	@$(BIN)/sosik crawl naver --query "$(QUERY)" --pages $(PAGES)

# No network needed: our own hand-written pages, replayed on loopback (crawler/commands/demo.py).
demo: $(STAMP)
	@$(BIN)/sosik demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Network, database and process, and distributed faults, full size, in one table (~30 min).
faults: $(STAMP)
	$(BIN)/python bench/faults.py

faults-network: $(STAMP)
	$(BIN)/python -m tests.faults.network --full

fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz.run --cases $(FUZZ_CASES)

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
