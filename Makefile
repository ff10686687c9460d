# Two commands a user needs: `make demo` and `make test`.
# Both create a local virtual environment (.venv) on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= out/demo

.PHONY: demo test test-fast bench sample clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $@

demo: $(VENV)/.installed  ## run the whole analysis on the bundled sample village
	$(BIN)/cxinfluence demo --out $(OUT)

test: $(VENV)/.installed  ## run the test suite (doctests and notebooks included)
	$(BIN)/python -m pytest

test-fast: $(VENV)/.installed  ## the suite without the slow end-to-end tests (notebooks, CLI, browser)
	$(BIN)/python -m pytest -m "not slow"

bench: $(VENV)/.installed  ## run the benchmarks (installs DuckDB for the comparison)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

sample: $(VENV)/.installed  ## regenerate the committed sample village in data/
	$(BIN)/cxinfluence synth --accounts 300 --seed 20261122 --out data/sample_village --force

clean:
	rm -rf $(VENV) out .pytest_cache
