# Quick start on a fresh machine (needs python3 with venv, and make):
#   make serve   set up, then serve the default scenario on http://127.0.0.1:8080
#   make test    set up (system packages too, where this machine allows it), then run the whole
#                test suite against the installed package
# The Dockerfile runs the same `make install` and then `mock-aspsp serve`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SOURCES := setup.cfg pyproject.toml $(shell find mock_aspsp schemas scenarios -type f ! -name '*.pyc' 2>/dev/null)

.PHONY: install-deps install install-test system-deps serve test load bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The dependencies alone (setup.cfg's install_requires), before the sources are needed: the Dockerfile
# runs this in a layer of its own, so that a change of the sources reinstalls only the package.
$(VENV)/.installed-deps: $(BIN)/python setup.cfg
	$(BIN)/python -c 'import configparser; c = configparser.ConfigParser(interpolation=None); c.read("setup.cfg"); print(c["options"]["install_requires"].strip())' > $(VENV)/install-requires.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r $(VENV)/install-requires.txt
	touch $@

# Non-editable on purpose: what runs is what `pip install .` ships (schemas and scenarios included).
# The build tree goes first: setuptools never removes from it a module moved or deleted since the last
# build, and would ship it again.
$(VENV)/.installed: $(VENV)/.installed-deps $(SOURCES)
	rm -rf build
	$(BIN)/pip install --quiet --disable-pip-version-check .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check ".[test]"
	touch $@

install-deps: $(VENV)/.installed-deps

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Chromium, redis-server, wrk, curl, openssl: installed when this machine allows it (root, or sudo without a
# password); otherwise it stops, printing the one command to run, so `make test` never skips a part.
system-deps:
	.ci/install-system-deps

serve: install
	$(BIN)/mock-aspsp serve $(ARGS)

test: system-deps install-test
	$(BIN)/pytest -p no:cacheprovider $(ARGS)

# The 60-second mixed load (LOAD_SECONDS=... to change), kept out of `make test`.
load: install-test
	$(BIN)/pytest -p no:cacheprovider -m slow -s $(ARGS)

# Product vs a bare Flask-under-gunicorn baseline, same run (see BENCHMARKS.md).
bench: install-test
	.ci/install-system-deps wrk redis-server
	$(BIN)/python tests/bench/bench.py $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
