# Two commands do all the set-up on a fresh machine:
#   make run    create .venv if missing, install the app, start it
#   make test   the same set-up plus the test extras, then the whole suite headless
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test install install-test system-deps bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

system-deps:
	@bash scripts/install-system-deps.sh $(if $(XVFB),--xvfb,)

install: system-deps $(STAMP)

install-test: system-deps $(TEST_STAMP)

run: install
	$(VENV)/bin/mlops-desktop

test: install-test
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) bench/startup.py
	$(PY) bench/import_csv.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache screenshots bench/data
