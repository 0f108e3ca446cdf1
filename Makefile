# Quick start: `make serve` (set up, then serve the default scenario on :8080)
#              `make test`  (set up, then run the whole test suite against the installed package)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install install-test serve test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install --quiet .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet ".[test]"

serve: install
	$(BIN)/mock-aspsp serve $(ARGS)

test: install-test
	$(BIN)/pytest -p no:cacheprovider $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
