# Two commands for a new user: `make plan` and `make test`. Both install .venv on first use, exactly
# as uv.lock says (every direct and transitive dependency, the test extra included, with hashes), and
# again whenever uv.lock or pyproject.toml changes (the stamp file is older than them). After installing,
# `python -m servestack.plan.warmup` compiles the bytecode of exactly what a plan imports (compiling all
# 11k installed files was measured slower than it saves: docs/benchmarks.md).
#
# The installer is uv: the one on PATH when it is 0.13 or newer (pyproject's required-version), else
# the pinned UV_VERSION, installed with pip into .tools/ from requirements/uv.txt (hashes checked).
# `make INSTALLER=pip` installs the same lock with plain pip instead (requirements/locked.txt, exported
# from uv.lock, with --require-hashes), for machines where uv cannot run.
# `make lock` updates uv.lock after a change to pyproject.toml (`make lock LOCK_ARGS=--upgrade` moves
# every pin to the newest release the ranges allow) and exports requirements/locked.txt from it.
PYTHON      ?= python3
VENV        := .venv
STAMP       := $(VENV)/.installed
STACK       ?= dev
PYTEST_ARGS ?=
INSTALLER   ?= uv
LOCK_ARGS   ?=
UV_VERSION  := 0.13.9
TOOLS       := .tools
LOCKED_REQUIREMENTS := requirements/locked.txt
UV_REQUIREMENTS     := requirements/uv.txt
PIP         := --disable-pip-version-check --quiet

ifeq ($(origin UV),undefined)
UV := $(shell uv --version 2>/dev/null | awk '{ split($$2, v, "."); if (v[1] > 0 || v[2] >= 13) found = 1 } END { exit !found }' \
        && command -v uv || echo $(TOOLS)/bin/uv)
endif

# What `make lock` exports and a test re-exports to compare (keep the two in step: tests/test_lock.py).
EXPORT_ARGS := export --locked --format requirements-txt --extra test --no-emit-project

CHECK_PYTHON = $(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "servestack needs Python 3.11 or newer")'

.PHONY: plan test bench clean lock check-env

ifneq ($(INSTALLER),$(filter $(INSTALLER),uv pip))
$(error INSTALLER must be uv or pip (got "$(INSTALLER)"))
endif

# A stamp written by the other installer (or by an older Makefile) is stale whatever its age.
ifneq ($(shell cat $(STAMP) 2>/dev/null),$(INSTALLER))
.PHONY: $(STAMP)
endif

ifeq ($(INSTALLER),uv)
$(STAMP): pyproject.toml uv.lock | $(UV)
	@$(CHECK_PYTHON)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --extra test --python $(PYTHON) --no-python-downloads
	PYTHONDONTWRITEBYTECODE= $(VENV)/bin/python -m servestack.plan.warmup
	@echo uv > $(STAMP)
else
# A fresh virtualenv each time, so that nothing outside the lock stays behind. Wheels only, as uv
# installs them (pyproject's no-build); the project is built without isolation, with the locked
# setuptools, so nothing but the lock's files is downloaded.
$(STAMP): pyproject.toml uv.lock $(LOCKED_REQUIREMENTS)
	@$(CHECK_PYTHON)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install $(PIP) --require-hashes --only-binary :all: -r $(LOCKED_REQUIREMENTS)
	$(VENV)/bin/python -m pip install $(PIP) --no-deps --no-build-isolation -e .
	PYTHONDONTWRITEBYTECODE= $(VENV)/bin/python -m servestack.plan.warmup
	@echo pip > $(STAMP)
endif

$(TOOLS)/bin/uv: $(UV_REQUIREMENTS)
	@$(CHECK_PYTHON)
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install $(PIP) --require-hashes -r $(UV_REQUIREMENTS)
	@touch $@

plan: $(STAMP)
	$(VENV)/bin/servestack plan --stack $(STACK)

test: $(STAMP)
	$(VENV)/bin/python -m pytest -n 2 $(PYTEST_ARGS)

lock: | $(UV)
	$(UV) lock $(LOCK_ARGS)
	$(UV) $(EXPORT_ARGS) > $(LOCKED_REQUIREMENTS)
	{ echo "# uv for make's bootstrap into $(TOOLS)/ (Makefile's UV_VERSION), every platform's hashes; written by \`make lock\`"; \
	  echo "uv==$(UV_VERSION)" | $(UV) pip compile --no-config --universal --generate-hashes --no-header --quiet -; } > $(UV_REQUIREMENTS)

# Exit 1 unless .venv holds exactly the versions uv.lock pins for this machine, whichever installer made it.
check-env:
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider tests/test_lock.py::test_venv_holds_exactly_the_locked_versions

clean:
	rm -rf build .pytest_cache .hypothesis

bench: $(STAMP)
	$(VENV)/bin/python bench/bench.py
