# 医师电子化注册信息系统 — `make run` serves on SQLite; `make test` runs every test.
VENV    := .venv
PYTHON  ?= python3
FLASK   := MEDREG_ENV=development MEDREG_SCHEDULER=off $(VENV)/bin/flask --app app
INSTALLED := $(VENV)/.installed
VENDOR  := app/static/vendor/.built

.PHONY: run test install assets db lint browser system bench bench-national clean messages bpmn-coverage wheel-check

$(INSTALLED): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

install: $(INSTALLED)

$(VENDOR): package.json package-lock.json $(wildcard app/static/src/*)
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p app/static/vendor/bpmn-js app/static/vendor/modeler
	cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js app/static/vendor/bpmn-js/
	cp -r node_modules/bpmn-js/dist/assets/. app/static/vendor/bpmn-js/assets/
	cp node_modules/@bpmn-io/properties-panel/dist/assets/properties-panel.css app/static/vendor/modeler/
	node_modules/.bin/esbuild app/static/src/modeler.js --bundle --minify --format=iife \
	  --target=es2020 --log-level=warning --outfile=app/static/vendor/modeler/modeler.js
	touch $@

assets: $(VENDOR)

db: install
	$(FLASK) db upgrade
	$(FLASK) seed

run: install assets db
	MEDREG_ENV=development MEDREG_SCHEDULER=on $(VENV)/bin/flask --app app run --host 127.0.0.1 --port 5000

# From the OS packages: Chromium drives the browser tests; redis-server is the shared
# rate-limit store the production-mode tests start (production uses one too); poppler-utils'
# pdftotext reads the printed PDFs back in the tests.
system:
	@(test -x /usr/bin/chromium && test -x /usr/bin/redis-server && test -x /usr/bin/pdftotext && dpkg -s fonts-wqy-microhei >/dev/null 2>&1 && dpkg -s fonts-arphic-uming >/dev/null 2>&1) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei fonts-arphic-uming redis-server poppler-utils >/dev/null)

browser: system

lint: install
	$(VENV)/bin/ruff check app tests workflows_tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

test: install assets system lint
	MEDREG_ENV=development $(VENV)/bin/flask --app app bpmn validate bpmn/*.bpmn
	$(VENV)/bin/pytest

# The production install from the wheel (issue 12 §7): build → fresh venv without extras →
# db upgrade on PostgreSQL → seed → create-admin → load → test cases → publish (deploy/wheel-check.sh).
# WHEEL_CHECK_DATABASE_URL: an empty PostgreSQL database (default: bench/pg.sh recreates medreg_wheel).
# Needs app/static/vendor (make assets; CI's make test builds it) and says so when it is missing.
wheel-check:
	WHEEL_CHECK_DATABASE_URL="$${WHEEL_CHECK_DATABASE_URL:-$$(bash bench/pg.sh medreg_wheel)}" deploy/wheel-check.sh

bpmn-coverage: install
	$(VENV)/bin/python -m workflows_tests.coverage

# Every benchmark, full size (about an hour; the national one at its small default size, the side
# by side with SpiffArena when its backend is set up); raw results in docs/bench/, figures in
# docs/performance.md. PostgreSQL 15 of the machine (bench/pg.sh creates medreg_bench).
BENCH_OUT := docs/bench
bench: install
	mkdir -p $(BENCH_OUT)
	PG=$$(bash bench/pg.sh) && \
	$(VENV)/bin/python bench/engine_step.py --n 300 > $(BENCH_OUT)/engine_step-sqlite.json && \
	$(VENV)/bin/python bench/engine_step.py --n 300 --database-url $$PG > $(BENCH_OUT)/engine_step-postgresql.json && \
	$(VENV)/bin/python bench/inbox.py --database-url $$PG > $(BENCH_OUT)/inbox-postgresql.json && \
	$(VENV)/bin/python bench/timers.py > $(BENCH_OUT)/timers-sqlite.json && \
	$(VENV)/bin/python bench/timers.py --database-url $$PG > $(BENCH_OUT)/timers-postgresql.json && \
	$(VENV)/bin/python bench/growth.py > $(BENCH_OUT)/growth-sqlite.json && \
	$(VENV)/bin/python bench/growth.py --database-url $$PG > $(BENCH_OUT)/growth-postgresql.json && \
	$(VENV)/bin/python bench/storage.py > $(BENCH_OUT)/storage-sqlite.json && \
	$(VENV)/bin/python bench/storage.py --database-url $$PG > $(BENCH_OUT)/storage-postgresql.json && \
	$(VENV)/bin/python bench/indexes.py > $(BENCH_OUT)/indexes-sqlite.json && \
	$(VENV)/bin/python bench/indexes.py --database-url $$PG > $(BENCH_OUT)/indexes-postgresql.json && \
	$(VENV)/bin/python bench/memory.py > $(BENCH_OUT)/memory-sqlite.json && \
	$(VENV)/bin/python bench/memory.py --database-url $$PG > $(BENCH_OUT)/memory-postgresql.json && \
	$(VENV)/bin/python bench/load.py --database-url $$PG --users 20 --seconds 300 --out $(BENCH_OUT) > $(BENCH_OUT)/load-postgresql.json && \
	$(VENV)/bin/python bench/load.py --database-url $$PG --users 20 --seconds 180 --kill-at 90 --out $(BENCH_OUT)/kill > $(BENCH_OUT)/load-kill-postgresql.json && \
	$(VENV)/bin/python bench/cluster.py --database-url $$PG > $(BENCH_OUT)/cluster-postgresql.json && \
	$(VENV)/bin/python bench/page_cost.py > $(BENCH_OUT)/page-cost-sqlite.json && \
	$(VENV)/bin/python bench/page_cost.py --database-url $$PG > $(BENCH_OUT)/page-cost-postgresql.json && \
	$(VENV)/bin/python bench/request_floor.py > $(BENCH_OUT)/request_floor-sqlite.json && \
	$(VENV)/bin/python bench/national.py --import-only --import-rows 100000 --rounds 3 > $(BENCH_OUT)/import-sqlite.json && \
	$(VENV)/bin/python bench/national.py --import-only --import-rows 100000 --rounds 3 --database-url $$PG > $(BENCH_OUT)/import-postgresql.json && \
	$(VENV)/bin/python bench/institution_search.py --database-url $$PG --institutions 1000000 > $(BENCH_OUT)/institution-search-postgresql.json
	$(MAKE) bench-national
	@if [ -f "$(PEER_SCRIPT)" ]; then $(MAKE) bench-side; else \
	  echo "bench-side skipped: SpiffArena is not set up at $(PEER_SCRIPT) (docs/performance.md, Side by side)"; fi

clean:
	rm -rf $(VENV) node_modules app/static/vendor

# Extract every translatable text (templates, flash messages, service errors) for translators.
messages: install
	mkdir -p app/translations
	$(VENV)/bin/pybabel extract -F babel.cfg -k _ -k gettext -k lazy_gettext -o app/translations/messages.pot .

# National data volume (issue 14 goal 5) on PostgreSQL: 10k-scale, then NATIONAL_SCALE of the
# nation (default 0.01: 50k qualifications, 1M audit events; 1 = 5M qualifications, 20M human
# tasks, 100M audit events, hours and ~100 GB). Raw result in docs/bench/national-postgresql.json.
NATIONAL_SCALE ?= 0.01
bench-national: install
	PG=$$(bash bench/pg.sh medreg_national) && \
	$(VENV)/bin/python bench/national.py --database-url $$PG --scale $(NATIONAL_SCALE) > $(BENCH_OUT)/national-postgresql.json

# Side by side with SpiffArena (issue 14 goal 1): both on SQLite, then both on PostgreSQL, 200
# interleaved rounds. Needs SpiffArena's backend set up outside this repository and a command that
# starts it (docs/performance.md, "Side by side with SpiffArena"); `--ours-only` runs without it.
.PHONY: bench-side
PEER_SCRIPT ?= /work/peer/run_peer.sh
PEER_CMD ?= bash $(PEER_SCRIPT) {port} {db}
bench-side: install
	$(VENV)/bin/python bench/side_by_side.py --rounds 200 --peer-cmd '$(PEER_CMD)' > $(BENCH_OUT)/side_by_side-sqlite.json
	PG=$$(bash bench/pg.sh medreg_side) && PEER=$$(bash bench/pg.sh spiff_side) && \
	$(VENV)/bin/python bench/side_by_side.py --rounds 200 --peer-cmd '$(PEER_CMD)' --database-url $$PG \
	    --peer-db $$(echo $$PEER | sed s/+psycopg:/+psycopg2:/) > $(BENCH_OUT)/side_by_side-postgresql.json
