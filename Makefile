# Two commands on a fresh machine:  make study  (a full study on the sample)  and  make test.
# Each creates the virtual environment and registers the Jupyter kernel when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: setup study test quick lab sample notebooks bench clean-venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e . 2>&1 | grep -v "^WARNING: Location" || true
	@$(BIN)/python -c "import cx_helpers, papermill, nbval" || (echo "installing the project failed"; exit 1)
	$(BIN)/python -m ipykernel install --sys-prefix --name cx-suite --display-name "Python (cx-suite)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP)

study: setup            ## run the full study on the bundled sample; writes reports/sample/<run id>/
	$(BIN)/cx run data/sample

test: setup             ## every test: pytest for the package, nbval for the notebooks
	$(BIN)/python -m pytest $(PYTEST_ARGS)

quick: setup            ## the quick loop: every test but the end-to-end ones (marked slow)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS) tests

lab: setup              ## open the notebooks in JupyterLab with the project's kernel
	$(BIN)/jupyter lab notebooks/

sample: setup           ## regenerate the bundled sample study
	$(BIN)/cx synth --out data/sample --customers 3000 --seed 20261122 --force

notebooks: setup        ## rerun the notebooks and keep only the outputs nbval checks
	$(BIN)/python -m cx_helpers.nbtools notebooks/*.ipynb

bench: setup            ## speed and scale figures (printed, not asserted)
	$(BIN)/python benchmarks/drivers.py
	$(BIN)/python benchmarks/journeys.py
	$(BIN)/python benchmarks/study.py

clean-venv:
	rm -rf $(VENV)
