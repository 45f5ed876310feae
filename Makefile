# footfall — run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
BIN     := $(VENV)/bin
JARS    := .jars
DATA    := .data
PYSPARK_JARS = $(shell $(PY) -c 'import pyspark,os;print(os.path.join(os.path.dirname(pyspark.__file__),"jars"))')
DATE    ?= 2026-03-14
# The demo day: a Saturday in Berlin, ~30k subscribers (about 3M events).
DEMO_SUBSCRIBERS ?= 30000
PYTEST_ARGS ?=

.PHONY: help setup jars run test lint clean doctor

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip==25.3"
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

$(JARS)/.resolved: conf/pom.xml conf/jars.sh $(VENV)/.installed
	conf/jars.sh $(JARS) $(PYSPARK_JARS)
	touch $@

setup: $(VENV)/.installed $(JARS)/.resolved ## virtualenv, pinned packages and jars (idempotent, fast when done)

jars: ## re-resolve the Sedona/Delta jars from conf/pom.xml into .jars/
	rm -f $(JARS)/.resolved
	$(MAKE) $(JARS)/.resolved

doctor: setup ## print versions, jars, config; run a smoke query
	$(BIN)/footfall doctor

$(DATA)/demo.key: | $(VENV)/.installed
	$(PY) -c 'from footfall.privacy.pseudonym import ensure_demo_key; ensure_demo_key("$@")'

$(DATA)/landing/.generated-$(DATE)-$(DEMO_SUBSCRIBERS): | $(VENV)/.installed $(JARS)/.resolved
	$(BIN)/footfall generate --date $(DATE) --subscribers $(DEMO_SUBSCRIBERS)
	touch $@

run: setup $(DATA)/demo.key $(DATA)/landing/.generated-$(DATE)-$(DEMO_SUBSCRIBERS) ## the main job on the built-in demo data
	# --republish: the demo day is regenerated deterministically, so `make run` may repeat it.
	$(BIN)/footfall run --date $(DATE) --republish
	$(BIN)/footfall report --date $(DATE)
	@echo "report: $(DATA)/report/$(DATE)/index.html (offline; open it in a browser)"

test: setup ## run the test suite
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup ## ruff and mypy on libs/
	$(BIN)/ruff check libs jobs tests
	$(BIN)/mypy libs/footfall

clean: ## remove generated data (keeps venv and jars)
	rm -rf $(DATA) spark-warehouse metastore_db derby.log

# Cluster side (docs/operations.md): the package, spark-submit, a standalone cluster on 127.0.0.1
# and the history server. The scripts in conf/ hold the logic; these targets only call them.
DIST          := dist
JOB           ?= doctor
ARGS          ?=
EVENT_LOG_DIR ?= $(DATA)/spark-events
PACKAGE_INPUTS = pyproject.toml conf/package.sh conf/submit.sh conf/jars.txt $(wildcard conf/*.yaml jobs/*.py) \
                 $(shell find libs -name '*.py' -o -name py.typed)

.PHONY: package submit cluster-up cluster-down history history-stop

$(DIST)/.packaged: $(PACKAGE_INPUTS) | $(VENV)/.installed $(JARS)/.resolved
	DIST=$(DIST) conf/package.sh
	touch $@

package: $(DIST)/.packaged ## build dist/: wheel, packed executor Python env, jars, conf, jobs

submit: package ## spark-submit JOB=name ARGS="..." to SPARK_MASTER (or spark.master in the config)
	FOOTFALL_DIST=$(DIST) conf/submit.sh $(JOB) $(ARGS)

cluster-up: setup ## start a Spark standalone master + 2 workers on 127.0.0.1 (master :7177, UI :8180)
	conf/cluster.sh up

cluster-down: ## stop the processes cluster-up started (by pid)
	conf/cluster.sh down

history: setup ## Spark History Server on http://127.0.0.1:18180 reading EVENT_LOG_DIR
	EVENT_LOG_DIR=$(EVENT_LOG_DIR) conf/cluster.sh history-up

history-stop: ## stop the history server
	conf/cluster.sh history-down

.PHONY: sql
sql: setup ## interactive spark-sql on the published tables (footfall.*, ref.zones, views)
	$(BIN)/footfall sql

# Benchmarks (docs/benchmarks.md): the same generated day through footfall's Sedona joins, DuckDB
# spatial, SedonaDB and a naive PySpark UDF, then ingest and compute. Data is generated once
# under .data/bench/<SIZE> and reused; results in bench/results/<SIZE>.json.
SIZE ?= S
BENCH_ARGS ?=
.PHONY: bench
bench: setup ## benchmarks side by side: make bench SIZE=XS|S|M|L (200k, 10M, 30M, 100M events)
	$(PY) -m bench.run --size $(SIZE) $(BENCH_ARGS)
	$(PY) -m bench.report
