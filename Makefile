# kimdb — the two commands of a fresh machine: `make demo` and `make test` (README.md).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_ENV := instance/demo.env
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/kimdb_test
HOST ?= 127.0.0.1
PORT ?= 5000
BENCH_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/kimdb_bench
BENCH_SQLITE_URL ?= sqlite:///$(CURDIR)/instance/bench/county.sqlite3

.PHONY: demo test install install-test translations lint format serve clean messages bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed translations

install-test: $(VENV)/.installed-test translations

## Compile the gettext catalogs (German, English) into .mo files.
translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d kimdb/translations 2>&1 | grep -v "^compiling" || true

## Re-extract the UI strings and merge them into the catalogs (for developers).
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --ignore-dirs ".*" \
		--project kimdb -o kimdb/translations/messages.pot .
	$(BIN)/pybabel update -N --ignore-obsolete -i kimdb/translations/messages.pot -d kimdb/translations

## Secrets of the demo instance: generated once, kept in instance/ (never committed).
$(DEMO_ENV): | $(VENV)/.installed
	mkdir -p instance
	@$(BIN)/python -c "import secrets; from kimdb.crypto import generate_key; \
	print('KIMDB_CONFIG=development'); \
	print('KIMDB_SECRET_KEY=' + secrets.token_urlsafe(48)); \
	print('KIMDB_ENCRYPTION_KEYS=' + generate_key()); \
	print('KIMDB_BLIND_INDEX_KEY=' + generate_key()); \
	print('KIMDB_DATABASE_URL=sqlite:///' + __import__('os').path.abspath('instance/demo.sqlite3')); \
	print('KIMDB_STORAGE_DIR=' + __import__('os').path.abspath('instance/demo-storage'))" > $@
	@chmod 600 $@
	@echo "generated $@ (demo secrets)"

## Install, migrate an SQLite database, load the Kreis Warendorf demo, serve on $(HOST):$(PORT).
demo: install $(DEMO_ENV)
	@grep -q '^KIMDB_BLIND_INDEX_KEY=' $(DEMO_ENV) || \
		$(BIN)/python -c "from kimdb.crypto import generate_key; print('KIMDB_BLIND_INDEX_KEY=' + generate_key())" >> $(DEMO_ENV)
	set -a && . ./$(DEMO_ENV) && set +a && \
	$(BIN)/flask --app wsgi db upgrade && \
	$(BIN)/flask --app wsgi kimdb demo && \
	exec $(BIN)/gunicorn -c gunicorn.conf.py --bind $(HOST):$(PORT) --workers 2 wsgi:app

## Lint, then the whole suite on SQLite and on PostgreSQL, browser tests included.
test: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -n 2
	KIMDB_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q -n 2

## Page benchmark (bench/pages.py, issue 8): county scale on SQLite, state scale on PostgreSQL.
## Each database is seeded once (the state takes about 10 minutes) and reused by later runs.
bench: install
	$(BIN)/python bench/pages.py --scale county --database-url $(BENCH_SQLITE_URL)
	$(BIN)/python bench/pages.py --scale state --database-url $(BENCH_PG_URL)

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
