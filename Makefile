# 医师电子化注册信息系统 — `make run` serves on SQLite; `make test` runs every test.
VENV    := .venv
PYTHON  ?= python3
FLASK   := MEDREG_SCHEDULER=off $(VENV)/bin/flask --app app
INSTALLED := $(VENV)/.installed
VENDOR  := app/static/vendor/.built

.PHONY: run test install assets db lint browser bench clean messages bpmn-coverage

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
	MEDREG_SCHEDULER=on $(VENV)/bin/flask --app app run --host 127.0.0.1 --port 5000

# Chromium from the OS packages drives the browser tests.
browser:
	@(test -x /usr/bin/chromium && dpkg -s fonts-wqy-microhei >/dev/null 2>&1) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null)

lint: install
	$(VENV)/bin/ruff check app tests workflows_tests bench
	$(VENV)/bin/lint-imports

test: install assets browser lint
	$(VENV)/bin/flask --app app bpmn validate bpmn/*.bpmn
	$(VENV)/bin/pytest

bpmn-coverage: install
	$(VENV)/bin/python -m workflows_tests.coverage

bench: install
	$(VENV)/bin/python bench/engine_step.py

clean:
	rm -rf $(VENV) node_modules app/static/vendor

# Extract every translatable text (templates, flash messages, service errors) for translators.
messages: install
	mkdir -p app/translations
	$(VENV)/bin/pybabel extract -F babel.cfg -k _ -k gettext -k lazy_gettext -o app/translations/messages.pot .
