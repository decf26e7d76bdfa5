# vmbackup.azure — `make demo` runs the scan/remediate demo, `make test` runs every test.
# Both set themselves up: .venv from pinned constraints, apt packages, the repo linked
# as a collection under .collections/, and ansible-test's offline bootstrap.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell tools/find-python)
PYMINOR := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
CONSTRAINTS := requirements/constraints-py$(if $(filter 3.11,$(PYMINOR)),3.11,3.13).txt
VENV := .venv
AZURE_VENV := .venv-azure
BIN := $(VENV)/bin
COLL := .collections/ansible_collections/vmbackup/azure
APT_PACKAGES := openssh-server openssh-client e2fsprogs util-linux psmisc chromium fonts-wqy-microhei debootstrap xfsprogs btrfs-progs
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup venv deps demo bench test test-compat units integration molecule sanity lint fmt constraints docs clean hostile

help: ## list every target (this text)
	@awk -F ':.*## ' '/^[a-z][a-z-]*:.*## / {printf "make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: venv deps $(COLL) build/sdk-newest/.stamp $(AZURE_VENV)/.stamp build/upstream/waagent/.unpacked ## build .venv, .venv-azure, apt packages, the collection link and ansible-test's offline bootstrap, the unpacked waagent package

venv: $(VENV)/.stamp ## build .venv from the pinned constraints only

$(VENV)/.stamp: requirements/requirements.in $(CONSTRAINTS)
	@echo "== .venv with $(PYTHON) ($(PYMINOR)), constraints $(CONSTRAINTS)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements/requirements.in -c $(CONSTRAINTS)
	touch $@

deps: ## install the apt packages of APT_PACKAGES (root) and bootstrap ansible-test offline
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "== apt-get install$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to install:$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@tools/ansible-test-offline

# The Python the azure.azcollection modules run with (ansible_python_interpreter of the control-plane
# tasks, vmbackup_azure_python): azure.azcollection's own requirements.txt, pinned, in a venv of its own
# because they conflict with .venv's (msal < 48 needs cryptography < 48). ~1.7 GB, several minutes.
AZCOLL_REQS = $(wildcard $(VENV)/lib/python*/site-packages/ansible_collections/azure/azcollection/requirements.txt)
$(AZURE_VENV)/.stamp: requirements/constraints-azure-py3.13.txt $(VENV)/.stamp
	@echo "== $(AZURE_VENV): azure.azcollection's Python requirements"
	$(PYTHON) -m venv $(AZURE_VENV)
	$(AZURE_VENV)/bin/python -m pip install -q --disable-pip-version-check -r $(AZCOLL_REQS) -c requirements/constraints-azure-py3.13.txt
	touch $@

# The newest Recovery Services SDK beside the pinned one in .venv (tests/sdk_records.py runs each in its own
# interpreter): pure Python, its dependencies are in .venv.
build/sdk-newest/.stamp: requirements/sdk-newest.txt $(VENV)/.stamp
	rm -rf build/sdk-newest
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --target build/sdk-newest -r requirements/sdk-newest.txt
	touch $@

# Debian's waagent package (WALinuxAgent), downloaded and unpacked - never installed - for the differential
# tests of waagent.conf (tests/unit/plugins/module_utils/test_waagent_upstream.py): no network at test time.
build/upstream/waagent/.unpacked: | deps
	$(PYTHON) tools/linux_upstream.py waagent
	$(PYTHON) tools/linux_upstream.py waagent --python

$(COLL):
	mkdir -p $(dir $(COLL))
	ln -sfn ../../.. $(COLL)

demo: setup ## scan, remediate and re-scan the built-in demo fleet
	$(BIN)/python tools/demo.py

bench: setup ## scan and remediate 60 simulated Windows hosts (HOSTS=1000 for more) over winsim and WinRM, print the cost
	$(BIN)/python tools/bench.py --hosts $(or $(HOSTS),60)

# every Windows fix x every simulator fault mode (tools/hostile.py); last line: hostile: N cases, 0 unsafe
hostile: setup ## every Windows fix x every simulator fault mode; last line: hostile: N cases, 0 unsafe
	$(BIN)/python tools/hostile.py

units: setup ## unit tests (pytest tests/unit)
	$(BIN)/python -m pytest -q -n 2 tests/unit

integration: setup ## playbook-level tests (pytest tests/integration)
	$(BIN)/python -m pytest -q tests/integration

molecule: setup ## every molecule scenario
	$(BIN)/molecule test --all

sanity: setup ## ansible-test sanity on a copy of the collection
	tools/run-sanity

lint: setup ## ruff check + format check, ansible-lint --profile production
	$(BIN)/ruff check plugins tests tools
	$(BIN)/ruff format --check plugins tests tools
	$(BIN)/ansible-lint --profile production

test: setup ## run every test (sanity, lint, molecule, unit, integration, hostile)
	tools/run-sanity
	$(MAKE) --no-print-directory lint
	$(BIN)/molecule test --all
	$(BIN)/python -m pytest -n 2 tests/unit tests/integration
	$(BIN)/python tools/hostile.py

# The other supported ansible-core line: Python 3.11 gets ansible 12 / ansible-core 2.19
# (constraints-py3.11.txt); unit and playbook-level tests run against it too.
COMPAT_PYTHON ?= $(shell command -v python3.11 2>/dev/null || ls -d $$(pyenv root 2>/dev/null)/versions/3.11.*/bin/python 2>/dev/null | tail -n 1)
COMPAT_VENV := .venv-py311

$(COMPAT_VENV)/.stamp: requirements/requirements.in requirements/constraints-py3.11.txt
	@test -n "$(COMPAT_PYTHON)" || { echo "test-compat needs Python 3.11" >&2; exit 1; }
	$(COMPAT_PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(COMPAT_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements/requirements.in -c requirements/constraints-py3.11.txt
	touch $@

test-compat: setup $(COMPAT_VENV)/.stamp ## unit and integration tests on Python 3.11 / ansible-core 2.19
	$(COMPAT_VENV)/bin/ansible --version | head -1
	$(COMPAT_VENV)/bin/python -m pytest -n 2 -p no:cacheprovider tests/unit tests/integration

docs: venv $(COLL) ## regenerate docs/error-codes/ and the README table (tools/gen_docs.py), the AWX surveys (tools/gen_surveys.py)
	$(BIN)/python tools/gen_docs.py
	$(BIN)/python tools/gen_surveys.py

fmt: setup ## ruff format and ruff check --fix
	$(BIN)/ruff format plugins tests tools
	$(BIN)/ruff check --fix plugins tests tools

constraints: ## re-pin requirements/constraints-py3.x.txt from .venv
	$(BIN)/python -m pip freeze --exclude-editable > $(CONSTRAINTS)

clean: ## remove .venv, .collections, build/, test output and reports
	rm -rf $(VENV) .collections build tests/output reports
