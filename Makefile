# greenpatch: the two set-up commands are `make demo` and `make test`; each creates .venv first.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Benchmarks compare against peers (gevent, ...) installed in their own environment, never in
# .venv: they are not dependencies of greenpatch.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed-stamp

.PHONY: demo test matrix lint format docs bench bench-quick conformance conformance-quick clean help

help:
	@echo "make demo         run the main job: the concurrent URL fetcher sample"
	@echo "make test         run the test suite (creates .venv on first use)"
	@echo "make matrix       run the suite under Python 3.10, 3.11, 3.12 and 3.13 (tox)"
	@echo "make lint         ruff check, ruff format --check and mypy (pyproject.toml [tool.mypy])"
	@echo "make docs         the documentation site, into docs/_build/html (index.html)"
	@echo "make bench        benchmarks against gevent and others (see bench/README.md)"
	@echo "make bench-quick  every benchmark for about a second, no speed asserted"
	@echo "make conformance  CPython's socket-related test modules, unpatched vs patch_all()"
	@echo "make conformance-quick  the quick modules only (what CI runs)"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(STAMP)
	$(BIN)/python samples/fetch_urls.py

test: $(STAMP)
	$(BIN)/python -m pytest

matrix: $(STAMP)
	tools/matrix.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The site: warnings are errors and every cross-reference must resolve (-n); see docs/conf.py.
DOCS_STAMP := $(VENV)/.docs-stamp

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $@

docs: $(DOCS_STAMP)
	$(BIN)/python -m sphinx -W --keep-going -n -q -b html docs docs/_build/html
	@echo "the site: docs/_build/html/index.html"

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# A peer that does not install here (no wheel for this Python, say) must not stop the suite: its
# rows then say "not installed". So if the whole extra fails, install the peers one by one.
BENCH_PEERS := gevent eventlet uvloop matplotlib 'psycopg[binary]' redis 'celery[redis]'

$(BENCH_STAMP): pyproject.toml
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -e '.[bench]' || { \
	  $(BENCH_VENV)/bin/python -m pip install --quiet -e . && \
	  for peer in $(BENCH_PEERS); do \
	    $(BENCH_VENV)/bin/python -m pip install --quiet $$peer || \
	      echo "note: $$peer could not be installed; its rows will say so"; \
	  done; }
	touch $@

# BENCH_ARGS passes options through, e.g. make bench BENCH_ARGS='--rounds 5 --only echo'.
bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python bench/run.py $(BENCH_ARGS)

bench-quick: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python bench/run.py --quick $(BENCH_ARGS)

# CPython's own test modules run unpatched and under patch_all(), compared (docs/conformance.md).
# Extra options go in CONFORMANCE_ARGS, e.g. CONFORMANCE_ARGS="--report-only -j2".
conformance: $(STAMP)
	$(BIN)/python tools/conformance.py $(CONFORMANCE_ARGS)

conformance-quick: $(STAMP)
	$(BIN)/python tools/conformance.py --quick $(CONFORMANCE_ARGS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) .tox build bench/build *.egg-info .pytest_cache
