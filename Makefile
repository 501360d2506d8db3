# The first two targets are the README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench check deps clean

run: $(STAMP) deps
	$(BIN)/klaxon run

test: $(STAMP) deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

bench: $(STAMP) deps
	$(BIN)/python -m bench

check: $(STAMP)
	$(BIN)/klaxon check rules/examples/*.yaml

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "klaxon needs Python 3.11 or newer")'
	@$(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1 || $(MAKE) --no-print-directory _apt PKG=python3-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# System binaries: redis-server (klaxon and its tests start real ones) and docker-compose
# (Debian's package validates docker-compose.yml without a Docker engine).
deps:
	@command -v redis-server >/dev/null 2>&1 || $(MAKE) --no-print-directory _apt PKG=redis-server
	@command -v docker-compose >/dev/null 2>&1 || $(MAKE) --no-print-directory _apt PKG=docker-compose

_apt:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing $(PKG) with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PKG) >/dev/null; \
	else \
		echo "klaxon needs $(PKG): install it (Debian/Ubuntu: sudo apt-get install $(PKG)) and run make again" >&2; \
		exit 1; \
	fi

clean:
	rm -rf $(VENV) .klaxon .mypy_cache .ruff_cache .pytest_cache
