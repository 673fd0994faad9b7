# Two commands: `make run` starts the bot, `make test` runs every test.
# Both create .venv and install what they need from the hashed lock files first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test chat lint format bench clean lock

# Installs come from the hashed lock files, so two installs a month apart run the same code.
# `make lock` rewrites them from pyproject.toml (see README, "Updating dependencies").
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.lock
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

# pip-tools in a venv of its own, so locking never depends on the lock being current.
LOCK_VENV := .venv-lock
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet "pip-tools>=7.4,<8"
	$(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) -o requirements.lock pyproject.toml
	$(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) --extra dev -o requirements-dev.lock pyproject.toml

# Test-only: the telegram-test-api Bot API emulator (npm), reinstalled when its lock changes.
TELEGRAM_EMULATOR := tests/fakes/telegram
$(TELEGRAM_EMULATOR)/node_modules/.installed: $(TELEGRAM_EMULATOR)/package-lock.json
	npm ci --prefix $(TELEGRAM_EMULATOR) --no-audit --no-fund --loglevel=error
	touch $@

run: $(VENV)/.installed
	$(PY) -m bot run

chat: $(VENV)/.installed
	$(PY) -m bot chat

test: $(VENV)/.installed-dev $(TELEGRAM_EMULATOR)/node_modules/.installed
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) -m pytest

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) -m ruff format --check .

format: $(VENV)/.installed-dev
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
