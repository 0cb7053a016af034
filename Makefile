PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint format venv venv-dev clean bench-broadcast bench-ingest bench-lag bench-metrics \
	bench-notify bench-predictions bench-experiments bench-instrumentation bench-dashboards \
	bench-cache

# The virtualenv is rebuilt when a requirements file changes.
$(VENV)/.runtime: requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "MySetlist needs Python 3.11+"'
	@$(PYTHON) -m venv $(VENV) || { echo "Cannot create a virtualenv: on Debian, apt-get install python3-venv"; exit 1; }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.runtime
venv-dev: $(VENV)/.dev

## make run: install, migrate, load demo data, start daphne + Celery worker + beat.
run: venv
	@mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py sync_schedules
	$(PY) manage.py seed_demo
	$(PY) manage.py fit_predictions --if-missing --last 20 --no-progress
	$(PY) manage.py ingest_key web --public --if-missing
	@$(PY) manage.py demo_user
	@echo "MySetlist is starting at http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	@# Prometheus samples every process shares, emptied before they start (see Monitoring).
	@rm -rf var/prometheus && mkdir -p var/prometheus
	WEB_PORT=$(PORT) PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/var/prometheus $(VENV)/bin/honcho -f Procfile start -p $(PORT)

# axe-core, which the browser tests load into pages, pinned by package-lock.json.
node_modules/axe-core/axe.min.js: package.json package-lock.json
	@command -v npm >/dev/null || { echo "The browser tests need npm: on Debian, apt-get install nodejs npm"; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

## make test: install what tests need, lint, then run the whole suite.
test: venv-dev node_modules/axe-core/axe.min.js
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run --settings=mysetlist.settings.test
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

## make bench-broadcast: live counts to 1,000 listeners on a show and 10,000 over 100 shows on one and two daphnes, beside a bare websocket server (PostgreSQL + Redis).
bench-broadcast: venv-dev
	$(PY) tests/benchmarks/bench_broadcast.py

## make bench-instrumentation: what counting a request costs (needs REDIS_URL).
bench-instrumentation: venv-dev
	$(PY) tests/benchmarks/bench_instrumentation.py

## make bench-ingest: analytics events/s through the API beside PostgreSQL COPY (needs wrk).
bench-ingest: venv-dev
	$(PY) tests/benchmarks/bench_ingest.py

## make bench-lag: ingestion lag, accepted to visible in rollups, idle and under load.
bench-lag: venv-dev
	$(PY) tests/benchmarks/bench_lag.py

## make bench-notify: a show announced to 100,000 followers, email + in-app, one Celery worker.
bench-notify: venv-dev
	$(PY) tests/benchmarks/bench_notify.py

## make bench-metrics: trend, funnel and retention latency over 10 million events.
bench-metrics: venv-dev
	$(PY) tests/benchmarks/bench_metrics.py

## make bench-dashboards: each stored dashboard's load over 10 million events, cold and warm.
bench-dashboards: venv-dev
	$(PY) tests/benchmarks/bench_dashboards.py

## make bench-predictions: the whole setlist backtest (fit + walk-forward) beside the baselines.
bench-predictions: venv-dev
	$(PY) tests/benchmarks/bench_predictions.py

## make bench-experiments: get_variant calls/s beside a bare hash; results of 10M events, 1M users.
bench-experiments: venv-dev
	$(PY) tests/benchmarks/bench_experiments.py

## make bench-cache: show page, API ballot and a cached function with and without the cache.
bench-cache: venv-dev
	$(PY) tests/benchmarks/bench_cache.py

lint: venv-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: venv-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var
