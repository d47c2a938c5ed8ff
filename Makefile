# Two commands on a fresh machine:  make study  (a full study on the sample)  and  make test.
# Each creates the virtual environment and registers the Jupyter kernel when missing.
# The environment gets exactly the versions in requirements/lock.txt (the set that was tested),
# then the project itself (editable, without resolving again); `make lock` regenerates the lock.
PYTHON ?= $(shell command -v python3.11 || echo python3)
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements/lock.txt
STAMP  := $(VENV)/.installed-stamp
PIP    := $(BIN)/python -m pip --disable-pip-version-check
PYTEST_ARGS ?=
# a worker per core; a test file, or a notebook's cells, stay together on one worker
PARALLEL ?= -n auto --dist loadscope

.PHONY: docs setup study test quick lab sample notebooks bench lock clean-venv

# rebuilt when pyproject.toml or the lock file changes
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c "import sys; sys.exit(sys.version_info[:2] != (3, 11))" || \
	  echo "note: $(LOCK) was resolved for Python 3.11; this environment has another Python"
	$(PIP) install --quiet -r $(LOCK) 2>$(VENV)/pip.log || (cat $(VENV)/pip.log; exit 1)
	$(PIP) install --quiet --no-deps -e ".[test,lab,docs,spark]" 2>$(VENV)/pip.log || (cat $(VENV)/pip.log; exit 1)
	@$(PIP) check >/dev/null || ($(PIP) check; echo "the lock file does not satisfy pyproject.toml: run make lock"; exit 1)
	@$(BIN)/python -c "import cx_helpers, papermill, nbval" || (echo "installing the project failed"; exit 1)
	$(BIN)/python -m ipykernel install --sys-prefix --name cx-suite --display-name "Python (cx-suite)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP)

study: setup            ## run the full study on the bundled sample; writes reports/sample/<run id>/
	$(BIN)/cx run data/sample

test: setup             ## every test: pytest for the package, nbval for the notebooks, on every core
	$(BIN)/python -m pytest $(PARALLEL) $(PYTEST_ARGS)

quick: setup            ## the quick loop: every test but the end-to-end ones (marked slow)
	$(BIN)/python -m pytest -m "not slow" $(PARALLEL) $(PYTEST_ARGS) tests

lab: setup              ## open the notebooks in JupyterLab with the project's kernel
	$(BIN)/jupyter lab notebooks/

sample: setup           ## regenerate the bundled sample study
	$(BIN)/cx synth --out data/sample --customers 3000 --seed 20261122 --force

notebooks: setup        ## rerun the notebooks and keep only the outputs nbval checks
	$(BIN)/python tools/nbtools.py notebooks/*.ipynb

docs: setup             ## build the documentation site into build/docs/html (runs the sample first)
	$(BIN)/python docs/build.py

bench: setup            ## speed and scale figures (printed, not asserted)
	$(BIN)/python benchmarks/drivers.py
	$(BIN)/python benchmarks/journeys.py --sizes 1000000 10000000   # 100M: see the README
	$(BIN)/python benchmarks/study.py

lock:                   ## regenerate the lock file: the newest versions pyproject.toml allows, every extra
	@test -x $(BIN)/uv || $(PIP) install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --all-extras --python-version 3.11 \
	  --python-platform x86_64-unknown-linux-gnu --output-file $(LOCK)

clean-venv:
	rm -rf $(VENV)
