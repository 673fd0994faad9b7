# Two commands: `make run` starts the bot, `make test` runs every test.
# Both create .venv and install what they need from pyproject.toml first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test chat lint format bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

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
	$(PY) -m pytest

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.installed-dev
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
