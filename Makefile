# Two commands for a newcomer: `make run` (demo service on SQLite + SpatiaLite) and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app server
PORT ?= 5000
HOST ?= 127.0.0.1
RUN_PACKAGES := python3-venv libsqlite3-mod-spatialite fonts-wqy-zenhei
TEST_PACKAGES := $(RUN_PACKAGES) postgresql postgresql-15-postgis-3 chromium fonts-noto-cjk faketime
LEAFLET := server/web/static/vendor/leaflet/leaflet.js
export SPATIALITE_LIBRARY_PATH := mod_spatialite

.PHONY: setup setup-test system system-test run test test-unit test-sqlite test-postgis test-clock bench clean

define apt_install
	@need=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || need="$$need $$p"; done; \
	command -v npm >/dev/null || need="$$need npm"; \
	if [ -n "$$need" ]; then \
	  echo "Installing system packages:$$need"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need; \
	fi
endef

# Prerequisites run left to right: system packages first (npm is needed for Leaflet).
setup: system $(VENV)/.installed $(LEAFLET)

setup-test: system-test setup

system:
	$(call apt_install,$(RUN_PACKAGES))

system-test:
	$(call apt_install,$(TEST_PACKAGES))

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

$(LEAFLET): server/web/package.json server/web/package-lock.json
	cd server/web && npm ci --no-audit --no-fund --loglevel=error
	mkdir -p server/web/static/vendor/leaflet
	cp -r server/web/node_modules/leaflet/dist/. server/web/static/vendor/leaflet/
	touch $@

run: setup
	$(FLASK) db upgrade
	$(FLASK) demo load
	@echo
	@echo "Grid inspection service: http://$(HOST):$(PORT)/   (sign in with a demo login above)"
	@echo "API docs:                http://$(HOST):$(PORT)/api/docs"
	@echo "OpenAPI spec:            http://$(HOST):$(PORT)/api/openapi.json"
	@echo "Database:                $${DATABASE_URL:-var/grid.sqlite3 (SQLite + SpatiaLite)}"
	@echo
	JOBS_IN_PROCESS=1 $(FLASK) run --host $(HOST) --port $(PORT)

test: setup-test test-unit test-sqlite test-postgis

test-unit:
	$(PY) -m pytest tests/unit -q -p no:cacheprovider

test-sqlite:
	env -u DATABASE_URL $(PY) -m pytest tests/integration -q -p no:cacheprovider

test-postgis:
	$(PY) -m tests.pgcluster $(PY) -m pytest tests/integration -q -p no:cacheprovider

# The suite must pass at any hour and on any date: run the SQLite integration suite under
# Debian's faketime at each of these instants (UTC; the clock ticks on from there, so 11:59
# and 23:59:30 cross noon and midnight during the run). CLOCK="2027-01-01 00:30:00" for one.
CLOCK ?= 2026-12-02 00:30:00|2026-12-02 11:59:00|2026-12-02 23:30:00|2026-12-02 23:59:30|2027-01-01 00:30:00|2028-02-29 12:00:00
test-clock: setup-test
	@instants='$(CLOCK)'; IFS='|'; for at in $$instants; do \
	  echo "== faketime '$$at' (UTC)"; \
	  TZ=UTC faketime "$$at" env -u DATABASE_URL $(PY) -m pytest tests/integration -q -p no:cacheprovider \
	    || { echo "FAILED at $$at"; exit 1; }; \
	done

bench: setup-test
	$(PY) bench/lookup.py

clean:
	rm -rf $(VENV) server/web/node_modules server/web/static/vendor *.egg-info
