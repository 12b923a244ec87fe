# The two commands of the README are `make lab` and `make test`; everything installs itself into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BROWSER_STAMP := $(VENV)/.browser-stamp
CHROMIUM ?= $(shell command -v chromium 2>/dev/null)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]-*.ipynb))
SANITIZE := tests/nbval_sanitize.cfg
LAB_ARGS ?=
PYTEST_ARGS ?=

.PHONY: install lab test test-browser chromium-check notebooks notebooks-check nav clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project's dependencies change (the stamp is newer than pyproject.toml otherwise).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[notebooks,test]'
	touch $(STAMP)

install: $(STAMP)

lab: install
	$(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_ARGS)

test: install
	$(BIN)/python -m pytest tests $(NOTEBOOKS) --nbval --nbval-current-env \
		--nbval-sanitize-with $(SANITIZE) $(PYTEST_ARGS)

# The `browser` extra (Playwright) only for test-browser, so `make test` never needs it.
$(BROWSER_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[notebooks,test,browser]'
	touch $(BROWSER_STAMP)

# Every notebook in JupyterLab in headless Chromium, as a learner runs it; screenshots in build/screenshots/.
# Playwright drives Debian's chromium (no browser download): apt-get install chromium.
test-browser: chromium-check $(BROWSER_STAMP)
	rm -rf build/screenshots
	CHROMIUM="$(CHROMIUM)" $(BIN)/python tests/browser/run_notebooks.py --screenshots build/screenshots $(NOTEBOOKS)

chromium-check:
	@test -n "$(CHROMIUM)" && test -x "$(CHROMIUM)" || { \
		echo "make test-browser: chromium not found; install it with: apt-get install chromium (as root)"; exit 1; }

# Re-execute every notebook in place, write the navigation links and clean volatile metadata.
notebooks: install
	$(BIN)/python -m tutorial_src.nbtools execute $(NOTEBOOKS)

# Proof that `make notebooks` is stable: regenerate twice, compare modulo the sanitize rules.
notebooks-check: install
	$(BIN)/python -m tutorial_src.nbtools check-stable --sanitize $(SANITIZE) $(NOTEBOOKS)

nav: install
	$(BIN)/python -m tutorial_src.nbtools nav $(NOTEBOOKS)

clean:
	rm -rf build .pytest_cache .hypothesis *.egg-info
