# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make demo   - the whole pipeline on the embedded local runtime (no AWS account)
#   make test   - lint, type-check, template checks, the Lambda build and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install whenever the project's dependencies change.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

# checkov pins an old `packaging` that conflicts with the test tools: it gets a venv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
BUILD_DIR := .aws-sam/build

.PHONY: test lint format typecheck checkov build pytest coverage demo bench clean
.DEFAULT_GOAL := test

# uv installs (pip bootstraps it): the dev tools in about 10 s where pip took 40, and the
# functions' wheels in a second each (infra/lambda_build.py). The same range as the dev extra.
UV_SPEC := uv>=0.9,<1
UV := $(BIN)/python -m uv
# caldav's HTTP client (niquests) brings urllib3-future, whose wheel replaces urllib3 itself at
# every interpreter start (a .pth hook): botocore would run on the fork here and on upstream
# urllib3 in Lambda. Built with this variable, it installs as urllib3_future only, which niquests uses.
KEEP_URLLIB3 := --no-binary urllib3-future
export URLLIB3_NO_OVERRIDE := 1
# uv, unlike pip, writes no bytecode: where PYTHONDONTWRITEBYTECODE is set, every process of the
# suite (function hosts, moto servers, fresh interpreters) would compile what it imports again.
UV_INSTALL := $(UV) pip install --quiet --compile-bytecode

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check '$(UV_SPEC)'
	$(UV_INSTALL) --python $(BIN)/python $(KEEP_URLLIB3) -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# The checks run side by side (each is one process, mostly waiting or on one core), the suite after
# them: a failing check stops make before the suite's three minutes.
# (make 3.81, macOS's, has no --output-sync: the checks' lines interleave there.)
OUTPUT_SYNC := $(if $(filter output-sync,$(.FEATURES)),--output-sync=target)
test: $(STAMP)
	@$(MAKE) --no-print-directory -j4 $(OUTPUT_SYNC) lint typecheck checkov build
	@$(MAKE) --no-print-directory pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

$(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION): $(STAMP)
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv --without-pip $(CHECKOV_VENV)
	$(UV_INSTALL) --python $(CHECKOV_VENV)/bin/python 'checkov==$(CHECKOV_VERSION)'
	@touch $@

# Every skip is written next to its resource in template.yaml, with the reason.
checkov: $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml

# What `sam build` does, without SAM CLI: every function of template.yaml, for its architecture.
build: $(STAMP)
	$(BIN)/python -m infra.lambda_build all --out $(BUILD_DIR)

# Three workers on two cores: the end-to-end tests spend part of their time waiting (batching
# windows, retries), which a third worker fills; a fourth only made them contend (measured on
# 2 cores: 2 workers 211 s, 3 workers 180 s, 4 workers 204 s and 15% more CPU). Coverage's
# tracer costs about a fifth more CPU on every test: it has a target of its own.
PYTEST_WORKERS ?= 3
pytest: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

coverage: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --cov --cov-report=term $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/event-importer demo

bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.readme

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .aws-sam .bench

# --- sam build (BuildMethod: makefile): one directory per function -----------
# sam build runs these with ARTIFACTS_DIR set; each function gets its own code and
# dependencies only (see infra/lambda_build.py). LAMBDA_PYTHON_VERSION and
# LAMBDA_ARCHITECTURE default to the template's runtime and architecture.
LAMBDA_BUILD := $(PYTHON) -m infra.lambda_build function

build-FanoutFunction:
	$(LAMBDA_BUILD) fanout --out "$(ARTIFACTS_DIR)"

build-TicketfairySubmitFunction:
	$(LAMBDA_BUILD) submit --integration ticketfairy --out "$(ARTIFACTS_DIR)"

build-WebhookSubmitFunction:
	$(LAMBDA_BUILD) submit --integration webhook --out "$(ARTIFACTS_DIR)"

build-CalendarSubmitFunction:
	$(LAMBDA_BUILD) submit --integration calendar --out "$(ARTIFACTS_DIR)"

# The operators' functions ship every integration: a replay's dry run runs its transformer,
# and the API mounts its routes.
build-ReplayFunction:
	$(LAMBDA_BUILD) replay --integration ticketfairy --integration webhook --integration calendar --out "$(ARTIFACTS_DIR)"

build-ApiFunction:
	$(LAMBDA_BUILD) api --integration ticketfairy --integration webhook --integration calendar --out "$(ARTIFACTS_DIR)"
