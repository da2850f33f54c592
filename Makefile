# The two commands a newcomer needs are `make serve` and `make test`; both bootstrap .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TORCH_SPEC ?= torch==2.13.0

.PHONY: serve test lint demo install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch goes in first, pinned, so that nothing later pulls a different (multi-gigabyte) build.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/hallmark serve

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

demo: $(STAMP)
	$(BIN)/hallmark demo

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
