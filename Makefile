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
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
PYTEST_ARGS ?=
# One pytest worker per core; --dist loadfile keeps every cell of a notebook in the same worker and kernel.
XDIST ?= -n auto --dist loadfile
# Where `make student` writes the learners' edition, and the docs whose timings table `make nav` rewrites.
STUDENT_DIR ?= build/student
TIMING_DOCS ?= docs/instructor-guide.md README.md

.PHONY: install lab test test-browser chromium-check notebooks notebooks-check nav student clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project's dependencies change (the stamp is newer than pyproject.toml otherwise).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[notebooks,test]'
	# Build matplotlib's font cache now: built on first use inside a notebook, it logs to stderr.
	$(BIN)/python -c "import matplotlib.font_manager"
	touch $(STAMP)

install: $(STAMP)

lab: install
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

test: install
	$(BIN)/python -m pytest tests $(NOTEBOOKS) --nbval --nbval-current-env \
		--nbval-sanitize-with $(SANITIZE) $(XDIST) $(PYTEST_ARGS)

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
	$(BIN)/python -m authoring.nbtools execute $(NOTEBOOKS)
	$(BIN)/python -m authoring.lesson timings $(addprefix --write ,$(TIMING_DOCS)) $(NOTEBOOKS)

# Proof that `make notebooks` is stable: regenerate twice, compare modulo the sanitize rules.
notebooks-check: install
	$(BIN)/python -m authoring.nbtools check-stable --sanitize $(SANITIZE) $(NOTEBOOKS)

# Navigation cells, then the timings tables of $(TIMING_DOCS), from the notebooks' minutes.
nav: install
	$(BIN)/python -m authoring.nbtools nav $(NOTEBOOKS)
	$(BIN)/python -m authoring.lesson timings $(addprefix --write ,$(TIMING_DOCS)) $(NOTEBOOKS)

# The learners' edition: solutions replaced by hint stubs, exercise and checker outputs cleared.
student: install
	$(BIN)/python -m authoring.student --out $(STUDENT_DIR) $(NOTEBOOKS)

clean:
	rm -rf build .pytest_cache .hypothesis *.egg-info

# What authentication costs: public vs protected route throughput and per-operation costs (benchmarks/); then
# sign/verify per algorithm and the resource service's ratio with --callgrind (keys_cost.py, notebook 09).
# Options: make bench BENCH_ARGS="--rounds 7 --duration 3 --no-cache"
# Noise-free instruction counts under valgrind: make bench BENCH_ARGS=--callgrind
BENCH_ARGS ?=
bench: install
	$(BIN)/python benchmarks/auth_cost.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/keys_cost.py $(filter --callgrind,$(BENCH_ARGS))
