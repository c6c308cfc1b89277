# Two commands for a new user: `make plan` and `make test`. Both create .venv on first use
# and re-install whenever pyproject.toml changes (the stamp file is older than it).
PYTHON ?= python3
VENV   := .venv
STAMP  := $(VENV)/.installed
STACK  ?= dev
PYTEST_ARGS ?=

.PHONY: plan test bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "servestack needs Python 3.11 or newer")'
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

plan: $(STAMP)
	$(VENV)/bin/servestack plan --stack $(STACK)

test: $(STAMP)
	$(VENV)/bin/python -m pytest -n 2 $(PYTEST_ARGS)

clean:
	rm -rf build .pytest_cache .hypothesis

bench: $(STAMP)
	$(VENV)/bin/python bench/bench.py
