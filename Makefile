# Two commands for a new user: `make run` (train the default model if none is registered, serve the API)
# and `make test`. Everything installs into .venv from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install browser bench-tools run train test lint audit soak bench bench-smoke bench-contended bench-quality bench-drift clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The browser tests drive Debian's chromium through Playwright (Playwright's own browser download is not used).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# The HTTP benchmark's load generator (Debian's wrk).
bench-tools:
	@command -v wrk >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk >/dev/null; }

run: install
	$(BIN)/triase train --if-missing
	$(BIN)/triase serve --host 127.0.0.1 --port 8000

train: install
	$(BIN)/triase train

test: install browser
	$(BIN)/pytest

bench-quality: install
	$(BIN)/python -m benchmarks.quality

# Why the OPD targets are out of reach: the same pipeline trained once, retrained as labels arrive, and on
# random folds of the year (not part of CI; about 7 minutes).
bench-drift: install
	$(BIN)/python -m benchmarks.drift

bench: install bench-tools
	$(BIN)/triase train --if-missing
	$(BIN)/python -m benchmarks.perf

# The HTTP latency at 200/s with the host slowed to the target machine's speed by busy processes (not in CI).
bench-contended: install
	$(BIN)/triase train --if-missing
	$(BIN)/python -m benchmarks.contended

bench-smoke: install bench-tools
	$(BIN)/triase train --if-missing
	$(BIN)/python -m benchmarks.perf --smoke

# Known vulnerabilities in the installed dependencies (needs pypi.org's JSON API or api.osv.dev).
audit: install
	$(BIN)/pip-audit --progress-spinner off --skip-editable

# 60 s at 200 requests/s, mixed single and batch, against a freshly started service (not part of CI).
soak: install
	$(BIN)/triase train --if-missing
	$(BIN)/python -m benchmarks.soak

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) mlflow.db mlartifacts .pytest_cache
