# The two commands a new user needs: `make run` and `make test`.
# PostgreSQL instead of SQLite: set DATABASE_URL, e.g.
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test make test

# pyenv reads .python-version; without pyenv, the newest python3.1x on the PATH.
PYTHON ?= $(shell for p in python3.12 python3.13 python3.14 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null \
	&& { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format install migrate data clean bench bench-intake bench-evidence loadtest

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is needed (see .python-version)." >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when the dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet . --group dev
	@touch $@

install: $(VENV)/.installed

migrate: install
	@mkdir -p var
	$(BIN)/python manage.py migrate --no-input

data: migrate
	$(BIN)/python manage.py load_record --if-empty
	$(BIN)/python manage.py build_dump

run: data
	$(BIN)/python manage.py demo_curator --url http://$(HOST):$(PORT)/admin/
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	@mkdir -p var
	$(BIN)/python manage.py makemigrations --check --dry-run >/dev/null || \
		{ echo "Models changed without a migration: run manage.py makemigrations." >&2; exit 1; }
	$(BIN)/pytest $(PYTEST_ARGS)

# The register at a country's scale against Datasette; figures into docs/benchmarks.md.
# Builds the demo data once (var/bench/, and PostgreSQL's heritage_bench when reachable).
bench: install
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install wrk" >&2; exit 2; }
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Intake reading 1,000 articles of 5 KB against 10,000 sites; fails over 20 s.
bench-intake: install
	$(BIN)/python bench/intake.py $(BENCH_ARGS)

# Captures taken, verify_evidence, a site's bundle exported and verified (bench/evidence.py).
bench-evidence: install
	$(BIN)/python bench/evidence.py $(BENCH_ARGS)

# 50 readers at once for a minute while a curator writes through the API, against
# gunicorn; fails on any error. Figures into docs/benchmarks.md. Builds its demo data
# once (var/loadtest/).
loadtest: install
	@command -v wrk >/dev/null || { echo "make loadtest needs wrk: apt-get install wrk" >&2; exit 2; }
	$(BIN)/python bench/loadtest.py $(LOADTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var
