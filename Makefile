# Renoz Dashboard. `make demo` to try it, `make test` to check it.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/renoz
export DATABASE_URL
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo test lint seed-benchmark bench bench-scale db serve serve-prod load worker beat clean

$(BIN)/activate: pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(BIN)/activate

install: $(BIN)/activate

db: install
	$(PYTHON) scripts/ensure_db.py

demo: db
	$(PYTHON) -m infra.secret_key local .secret_key
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py seed_demo --if-empty
	$(PYTHON) manage.py seed_demo_xero
	$(PYTHON) manage.py refresh_daily_summaries
	$(PYTHON) manage.py seed_demo_targets
	$(PYTHON) manage.py seed_demo_annotations
	$(PYTHON) manage.py seed_demo_reports
	$(PYTHON) manage.py backfill_user_statistics --days 120
	$(PYTHON) manage.py send_digests --defaults-only
	$(PYTHON) manage.py collectstatic --noinput -v 0
	@bash scripts/demo.sh $(HOST) $(PORT)

serve: install
	$(PYTHON) manage.py runserver $(HOST):$(PORT)

# The production server: gunicorn (workers, threads, timeouts from env) with WhiteNoise.
serve-prod: install
	HOST=$(HOST) PORT=$(PORT) bash scripts/serve_prod.sh

# Locust against gunicorn on the year3 benchmark data; prints the latency table.
load: db
	$(PYTHON) manage.py migrate --noinput
	bash scripts/load/run.sh

# One worker on every queue; `make worker QUEUES=reports,insights` takes only those kinds of
# work (refresh, reports, insights, default), e.g. to run each group on its own machine.
worker: install
	$(if $(QUEUES),WORKER_QUEUES=$(QUEUES)) $(BIN)/celery -A renoz worker -l info --concurrency 2

beat: install
	$(BIN)/celery -A renoz beat -l info --schedule /tmp/renoz-celerybeat-schedule

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy renoz accounts operations xero infra metrics targets annotations insights presentation alerts ask dashboard reports bench
	$(BIN)/lint-imports
	$(PYTHON) manage.py check
	$(PYTHON) manage.py makemigrations --check --dry-run

test: install
	$(PYTHON) scripts/ensure_db.py
	$(MAKE) lint
	$(BIN)/pytest

seed-benchmark: db
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py seed_benchmark --volume year3

bench: db
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py bench
	$(PYTHON) manage.py bench_personal
	$(PYTHON) manage.py bench_insights
	$(PYTHON) manage.py bench_reports
	$(PYTHON) manage.py bench_alerts
	$(PYTHON) manage.py bench_digest
	$(PYTHON) manage.py bench_ask
	$(PYTHON) manage.py bench_xero
	$(PYTHON) manage.py bench_page
	$(PYTHON) manage.py bench_resilience

# 100 organisations at year3 in their own databases (<database>_scale_100 and _scale_1; seeded
# once, reused): page reads against 1 organisation, a refresh cycle, the 2 AM warm-up.
bench-scale: install
	$(PYTHON) manage.py bench_scale

clean:
	rm -rf $(VENV) staticfiles artifacts .pytest_cache
