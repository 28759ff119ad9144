# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make demo   - the whole pipeline on the embedded local runtime (no AWS account)
#   make test   - lint, type-check and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install whenever the project's dependencies change.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: test lint format typecheck pytest demo bench clean
.DEFAULT_GOAL := test

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest --cov --cov-report=term $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/event-importer demo

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .aws-sam .bench

# --- sam build (BuildMethod: makefile): one zip per function -------------------
# Each function gets the three packages and only the runtime dependencies.
define lambda_build
	mkdir -p $(ARTIFACTS_DIR)
	cp -r functions integrations infra $(ARTIFACTS_DIR)/
	find $(ARTIFACTS_DIR) -name __pycache__ -prune -exec rm -rf {} +
	$(PYTHON) -m pip install --quiet --target $(ARTIFACTS_DIR) \
		--platform manylinux2014_aarch64 --only-binary=:all: --python-version 3.12 \
		$(shell $(PYTHON) -c "import tomllib;print(' '.join(repr(d) for d in tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))")
endef

build-FanoutFunction:
	$(lambda_build)

build-TicketfairySubmitFunction:
	$(lambda_build)
