# ZeroErrand Ledger. `make run` starts the embedded default; `make test` runs every test.
# Both set up what they need first: .venv with the Python dependencies, node_modules from package-lock.json.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: setup tools run test lint check-contracts bench clean

setup: $(PY_STAMP) $(NPM_STAMP)

$(PY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: setup tools
	$(BIN)/zel serve --demo --host 127.0.0.1 --port 8000

check-contracts: setup
	$(BIN)/zel contracts build --check

# Debian packages the tests need: docker-compose validates docker-compose.yml (there is no Docker engine
# here), fonts-wqy-microhei is the CJK font embedded in certificate PDFs (and rendered by Chromium), and
# chromium runs the page tests headless (Playwright drives /usr/bin/chromium; it downloads no browser), and
# poppler-utils (pdftoppm) rasterizes certificate PDFs so the tests read their QR codes like a scanner.
DEBS := docker-compose fonts-wqy-microhei chromium poppler-utils
tools:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y --no-install-recommends $$missing >/dev/null \
	  || { $$SUDO apt-get update >/dev/null && $$SUDO apt-get install -y --no-install-recommends $$missing >/dev/null; }; \
	fi

# Ruff (lint: style, imports, bug patterns; format: the layout) and mypy (types), configured in pyproject.toml.
# `.venv/bin/ruff format .` lays a change out as the check wants it.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Two workers, each taking whole files (module-scoped servers and browsers stay in one process); each worker has
# its own session templates, ganache node and PostgreSQL databases. `.venv/bin/pytest FILE` alone runs serially.
test: setup tools check-contracts lint
	$(BIN)/pytest -n 2 --dist loadfile

bench: setup tools
	$(BIN)/python bench/gas.py
	$(BIN)/python bench/codes.py
	$(BIN)/python bench/qr_versions.py
	$(BIN)/python bench/verify_offline.py
	$(BIN)/python bench/verify_load.py
	$(BIN)/python bench/scan_to_verdict.py
	$(BIN)/python bench/scan_profile.py
	$(BIN)/python bench/credit_daily.py

clean:
	rm -rf $(VENV) node_modules bench/peers/node_modules .pytest_cache
