# Two commands do all the set-up on a fresh machine:
#   make run    create .venv if missing, install the app, start it
#   make test   the same set-up plus the test extras, then the whole suite headless
#   make coverage  the suite with line coverage of src/
# Packaging (see packaging/README.md):
#   make package  the one-folder desktop bundle in dist/mlops-desktop (PyInstaller)
#   make smoke    the bundle's smoke tests: the app offscreen (and under Xvfb if there),
#                 then its command line end to end
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
PACKAGE_STAMP := $(VENV)/.installed-package
BUNDLE := dist/mlops-desktop/mlops-desktop

.PHONY: run test coverage install install-test system-deps bench clean package smoke walk-xvfb

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

$(PACKAGE_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[package]'
	touch $@ $(STAMP)

system-deps:
	@bash scripts/install-system-deps.sh $(if $(XVFB),--xvfb,)

install: system-deps $(STAMP)

# what the tests need besides Qt's libraries: Xvfb, Java (Spark), PostgreSQL's server
install-test: XVFB := 1
install-test: system-deps $(TEST_STAMP)

run: install
	$(VENV)/bin/mlops-desktop

# the suite runs on every core (pytest-xdist), a test file per worker so that a file's shared
# fixtures are built once; PYTEST_WORKERS=0 runs it in this one process. Compiled modules are
# kept even where the shell asks Python not to write them: each worker and each app process
# the tests start would otherwise compile the app again, and pytest its rewritten test modules
PYTEST_WORKERS ?= auto
PYTEST_DIST := $(if $(filter 0,$(PYTEST_WORKERS)),,--dist loadfile)
PYTEST_ENV := QT_QPA_PLATFORM=offscreen PYTHONDONTWRITEBYTECODE=

test: install-test
	$(PY) -m ruff check --quiet src tests bench
	$(PYTEST_ENV) $(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_DIST) $(PYTEST_ARGS)

# the suite with line coverage of src/ (a summary per file, and the total)
coverage: install-test
	$(PYTEST_ENV) $(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_DIST) --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

bench: install
	$(PY) bench/startup.py
	$(PY) bench/import_csv.py
	$(PY) bench/registry.py

# the X11 libraries Qt's xcb plugin loads must be on the build machine to be bundled
package: XVFB := 1
package: system-deps $(PACKAGE_STAMP)
	$(PY) -m PyInstaller --noconfirm --clean --log-level WARN packaging/mlops-desktop.spec
	@echo "Bundle size: $$(du -sh dist/mlops-desktop | cut -f1) (dist/mlops-desktop)"

smoke:
	@test -x $(BUNDLE) || { echo "No bundle at $(BUNDLE): run make package first."; exit 2; }
	QT_QPA_PLATFORM=offscreen $(BUNDLE) --smoke-test
	@if command -v xvfb-run >/dev/null 2>&1; then \
	  echo "The same under Xvfb (the xcb platform of a real Linux desktop):"; \
	  env -u QT_QPA_PLATFORM xvfb-run -a -s "-screen 0 1600x1000x24" $(BUNDLE) --smoke-test; \
	fi
	bash packaging/smoke_cli.sh $(BUNDLE)

# the GUI walk-through once more, in a real X server with Qt's xcb platform (CI runs it)
walk-xvfb: install-test
	QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) -m pytest -q tests/gui/test_walkthrough.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache screenshots bench/data
