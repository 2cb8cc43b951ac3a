# Roundabout: `make run` serves the forum with demo data, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app forum
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint bench bench-s bench-l bench-compare clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed setup.cfg
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) demo seed
	$(FLASK) run --host $(HOST) --port $(PORT)

# Debian's Chromium for the end-to-end journeys (Playwright cannot download its own browser here).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: browser tests will skip"; \
	  else echo "no /usr/bin/chromium and not root: browser tests will skip"; fi; \
	fi

test: $(VENV)/.installed-test browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check forum tests bench
	$(BIN)/ruff format --check forum tests bench

$(VENV)/.installed-bench: $(VENV)/.installed-test setup.cfg
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

# Benchmarks (README "Exchange and performance"): corpora in bench/data, results in bench/results.
bench: bench-s

bench-s: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py --size S $(BENCH_ARGS)

bench-l: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py --size L $(BENCH_ARGS)

# S and L side by side, alternating runs (needs both imported by bench-s and bench-l).
bench-compare: $(VENV)/.installed-bench
	$(BIN)/python bench/compare_sizes.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
