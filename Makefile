# Routine actions; run from the project root with the venv active.
PYTHON ?= python

.PHONY: help install test test-fast full matrix fuzz nightly differential lint format typecheck bench bench-10m bench-engines bench-time bench-product bench-check bench-compile bench-load bench-import bench-service bench-mcp bench-sql golden schema allowlist docs demo check lock ci bench-kpis bench-kpis-more bench-window-forms serve test-server test-page package

help:
	@echo "install    editable install with dev extras"
	@echo "test       the default suite (as CI runs it): a tier of the engine matrix, no full_tier tests"
	@echo "full       the default suite plus what it leaves out: the whole engine matrix and the full_tier tests"
	@echo "matrix     the whole engine matrix (every KPI in every shape on every engine)"
	@echo "fuzz       the query and filter fuzzers with 5,000 examples each (hypothesis profile 'fuzz')"
	@echo "nightly    the fuzzers with 10,000 examples each (hypothesis profile 'nightly'), then make full"
	@echo "differential  random queries on every engine against the reference evaluator, 10,000 each"
	@echo "lint       ruff check + ruff format --check + mypy --strict"
	@echo "format     ruff format + ruff --fix"
	@echo "bench      benchmarks; writes docs/benchmarks.md (bench-10m adds the 10M-row run)"
	@echo "bench-engines  the shipped KPI suite on 10M events on DuckDB, PostgreSQL, ClickHouse, Spark"
	@echo "bench-time rolling and cumulative KPIs on 10M events on DuckDB against hand-written SQL"
	@echo "bench-product  conversion, retention and churn KPIs on 10M events on DuckDB against hand-written SQL"
	@echo "bench-kpis every shipped KPI by month, week and day against hand-written SQL on DuckDB (10M), PostgreSQL, SQLite, MariaDB (1M)"
	@echo "bench-kpis-more  the same on ClickHouse (chdb, 1M) and Spark (local, 1M, at least 8 warm runs; about 15 min); keeps the other engines' numbers"
	@echo "bench-window-forms  distinct counts over windows joined or counted by changes, per engine, against hand-written SQL (prints only)"
	@echo "bench-check  check and check --base on a generated 1,000-metric project (fresh interpreter, 5 runs)"
	@echo "bench-compile  uncached compile against the rendering floor (sqlglot writing the same tree); time per metric up to 1,000"
	@echo "bench-load   ml.load of a generated 10,000-metric project: wall time and peak memory (clean interpreter, 5 runs)"
	@echo "bench-import import to the first SQL of the demo definitions (clean interpreter)"
	@echo "bench-service  the HTTP service under 50 clients: 60 s runs with 1 and 2 workers, then cached queries only (needs Redis at 127.0.0.1:6379)"
	@echo "bench-mcp      the MCP server over streamable HTTP: a cached query_metrics and list_metrics, 5 runs of 20 s, p50/p90/p99/max"
	@echo "bench-sql  the SQL interface under 20 psycopg clients: catalogue and cached MEASURE queries, 3 runs of 30 s"
	@echo "golden     regenerate tests/golden/<dialect>/*.sql"
	@echo "schema     regenerate metrics_layer/spec/schema.json from the models"
	@echo "allowlist  regenerate metrics_layer/safety/rendered.py (what allowed SQL becomes per engine)"
	@echo "docs       run the documentation tests"
	@echo "demo       (re)create the demo database and print a KPI table"
	@echo "check      check the shipped definitions"
	@echo "lock       write definitions/metrics.lock (after a version bump)"
	@echo "serve      the HTTP service on the shipped definitions, anonymous, on 127.0.0.1:8000"
	@echo "test-server  the HTTP service's tests"
	@echo "test-page  the catalogue page's tests (in Chromium when /usr/bin/chromium exists); screenshot in tests/artifacts/"
	@echo "package    build the wheel and sdist, install the wheel in a fresh venv and run it (~1.5 min)"

install:
	$(PYTHON) -m pip install -e ".[dev]"

test:
	$(PYTHON) -m pytest -n 2

full:
	ML_TESTS=full $(PYTHON) -m pytest -n 2

matrix:
	ML_TESTS=full $(PYTHON) -m pytest tests/engines/test_matrix.py -n 2

fuzz:
	$(PYTHON) -m pytest tests/api tests/safety -n 2 --hypothesis-profile=fuzz

nightly:
	$(PYTHON) -m pytest tests/api tests/safety -n 2 --hypothesis-profile=nightly
	ML_TESTS=full $(PYTHON) -m pytest -n 2

differential:
	$(PYTHON) -m pytest tests/differential -n 2 --hypothesis-profile=nightly

lint: typecheck
	ruff check metrics_layer tests benchmarks
	ruff format --check metrics_layer tests benchmarks

typecheck:
	mypy metrics_layer

format:
	ruff format metrics_layer tests benchmarks
	ruff check --fix metrics_layer tests benchmarks

bench:
	$(PYTHON) -m benchmarks

bench-10m:
	$(PYTHON) -m benchmarks --with-10m

bench-engines:
	$(PYTHON) -m benchmarks.engines_10m

bench-time:
	$(PYTHON) -m benchmarks.time_10m

bench-product:
	$(PYTHON) -m benchmarks.product_10m

bench-kpis:
	$(PYTHON) -m benchmarks.kpi_suite

bench-kpis-more:
	$(PYTHON) -m benchmarks.kpi_suite --engines clickhouse,spark

bench-window-forms:
	$(PYTHON) -m benchmarks.window_forms

bench-check:
	$(PYTHON) -m benchmarks.check_gate

bench-compile:
	$(PYTHON) -m benchmarks.compile_floor

bench-load:
	$(PYTHON) -m benchmarks.load_10k --split

bench-import:
	$(PYTHON) -m benchmarks.import_time

bench-service:
	$(PYTHON) -m benchmarks.service_load

bench-mcp:
	$(PYTHON) -m benchmarks.mcp_load

bench-sql:
	$(PYTHON) -m benchmarks.sql_interface_load --write

golden:
	$(PYTHON) -m pytest tests/sql --update-golden -q

schema:
	$(PYTHON) -m metrics_layer.spec.schema

allowlist:
	$(PYTHON) -m metrics_layer.safety.samples

docs:
	$(PYTHON) -m pytest tests/test_docs.py -q

demo:
	metrics-layer demo --force

check:
	metrics-layer check definitions

lock:
	metrics-layer lock definitions

ci:
	bash .ci/run

serve:
	metrics-layer serve --project definitions --allow-anonymous --watch 2

test-server:
	$(PYTHON) -m pytest tests/server tests/api/test_partial_load.py -n 2

test-page:
	$(PYTHON) -m pytest tests/server_page -n 2 -rs

package:
	METRICS_LAYER_PACKAGE_TEST=1 $(PYTHON) -m pytest -p no:cacheprovider tests/test_distribution.py
