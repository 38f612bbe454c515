# make run   fresh clone -> venv, install, migrate, demo data, serve at http://127.0.0.1:5000
# make test  the whole suite, on SQLite and on PostgreSQL at the same time
# make fuzz  the long API fuzz run (schemathesis), on SQLite and then on PostgreSQL
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app registry
PG_TEST_URL ?= postgresql+psycopg://registry:registry@127.0.0.1:5432/registry_test
PYTEST_ARGS ?=
DEMO_COUNT ?= 5000
RUN_SCHEDULER ?= 1
FUZZ_MAX_EXAMPLES ?= 1000
FUZZ_TIMEOUT ?= 2400
WEB_FUZZ_EXAMPLES ?= 20

.PHONY: run setup system-deps migrate demo serve serve-prod test test-sqlite test-pg fuzz clean-demo drills load-test load-smoke

# The scheduler and the background-task worker run as their own processes beside the server (never
# inside it); the trap stops them when the server stops (Ctrl+C or exit). RUN_SCHEDULER=0 serves without the scheduler.
run: demo
	@echo "演示账户与初始密码见 instance/demo-accounts.txt"
	@$(FLASK) registry notices check-base-url
	@$(FLASK) registry worker & worker=$$!; \
	if [ "$(RUN_SCHEDULER)" = "1" ]; then \
	  $(FLASK) registry scheduler & sched=$$!; \
	  trap 'kill $$sched $$worker 2>/dev/null; wait $$sched $$worker 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host 127.0.0.1 --port 5000; \
	else \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host 127.0.0.1 --port 5000; \
	fi

# Production: gunicorn (4 workers x 2 threads on 127.0.0.1:8000) + one scheduler, against PostgreSQL only.
serve-prod: setup
	VENV=$(VENV) scripts/serve-prod.sh

setup: system-deps $(VENV)/.installed

system-deps:
	@scripts/install-system-deps.sh

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

migrate: setup
	$(FLASK) db upgrade
	$(FLASK) registry seed-reference

demo: migrate
	$(FLASK) registry seed-demo --if-empty --count $(DEMO_COUNT)
	$(FLASK) registry seed-demo-users
	$(FLASK) registry jobs run nightly-evaluation

# The two suites run side by side (one per core); each one's output is printed whole when it ends.
test: setup
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-pg

test-sqlite: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-pg: setup
	scripts/pg-setup.sh registry_test registry_restore
	REGISTRY_TEST_DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest -q $(PYTEST_ARGS)

# The fast version of tests/test_api_fuzz.py runs in `make test`; this one generates FUZZ_MAX_EXAMPLES requests
# per operation and phase, stops after FUZZ_TIMEOUT seconds per database (exit 124), and writes a table of the
# answers per operation to test-artifacts/fuzz-{sqlite,pg}.md. Then the web fuzz (tests/test_web_fuzz.py) with
# WEB_FUZZ_EXAMPLES random values per query/form key, on both databases.
fuzz: setup
	mkdir -p test-artifacts
	FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) FUZZ_REPORT=test-artifacts/fuzz-sqlite.md \
	  timeout $(FUZZ_TIMEOUT) $(PY) -m pytest -q tests/test_api_fuzz.py $(PYTEST_ARGS)
	scripts/pg-setup.sh registry_test registry_restore
	REGISTRY_TEST_DATABASE_URL=$(PG_TEST_URL) FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) FUZZ_REPORT=test-artifacts/fuzz-pg.md \
	  timeout $(FUZZ_TIMEOUT) $(PY) -m pytest -q tests/test_api_fuzz.py $(PYTEST_ARGS)
	WEB_FUZZ_EXAMPLES=$(WEB_FUZZ_EXAMPLES) timeout $(FUZZ_TIMEOUT) $(PY) -m pytest -q tests/test_web_fuzz.py $(PYTEST_ARGS)
	REGISTRY_TEST_DATABASE_URL=$(PG_TEST_URL) WEB_FUZZ_EXAMPLES=$(WEB_FUZZ_EXAMPLES) \
	  timeout $(FUZZ_TIMEOUT) $(PY) -m pytest -q tests/test_web_fuzz.py $(PYTEST_ARGS)

# Fault drills only (PostgreSQL restart, kill -9 of a worker / the scheduler / a job); also part of `make test`.
drills: setup
	scripts/pg-setup.sh registry_test registry_restore
	REGISTRY_TEST_DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest -q tests/test_faults.py tests/test_job_processes.py

# Load test (issue 9): 1,000,000 demo assets in PostgreSQL database registry_load, gunicorn, locust on loopback.
# About 10 minutes the first time (seeding), then ~6 minutes per run. Figures: docs/performance.md.
LOAD_DB ?= registry_load
LOAD_URL ?= postgresql+psycopg://registry:registry@127.0.0.1:5432/$(LOAD_DB)
LOAD_DIR ?= /tmp/registry-load/$(LOAD_DB)
LOAD_COUNT ?= 1000000
LOAD_USERS ?= 10 50 100
LOAD_SECONDS ?= 60
load-test: setup
	$(VENV)/bin/pip install -q -r requirements-bench.txt
	scripts/pg-setup.sh $(LOAD_DB)
	$(PY) bench/load/prepare.py --url $(LOAD_URL) --count $(LOAD_COUNT) --out $(LOAD_DIR)/fixture.json \
	  --files $(LOAD_DIR)/files
	$(PY) bench/load_test.py --url $(LOAD_URL) --fixture $(LOAD_DIR)/fixture.json --files $(LOAD_DIR)/files \
	  --users $(LOAD_USERS) --duration $(LOAD_SECONDS)

# The same pipeline in about a minute (3,000 assets, 5 clients, 10 s): checks the load test itself works.
load-smoke:
	$(MAKE) load-test LOAD_DB=registry_loadsmoke LOAD_COUNT=3000 LOAD_USERS=5 LOAD_SECONDS=10
