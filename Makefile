# simdyn: `make run` and `make test` set everything up from scratch on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= runs/default

.PHONY: setup run test lint typecheck unit doctest notebooks bench clean browser fuzz

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/simdyn run --out $(OUT)

# headless Chromium renders the HTML report in the browser test
browser:
	command -v chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

lint: setup
	$(BIN)/ruff check simdyn tests benchmarks notebooks
	$(BIN)/ruff format --check simdyn tests benchmarks notebooks

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/python -m pytest -q

doctest: setup
	$(BIN)/python -m pytest -q --doctest-modules simdyn -p no:cacheprovider

notebooks: setup
	$(BIN)/python -m pytest -q --nbmake notebooks -p no:cacheprovider

test: browser lint typecheck unit doctest notebooks

# the long fuzz profile (>= 20,000 hostile cases, forked with time and memory limits)
fuzz: setup
	nice $(BIN)/python -m tests.fuzz.fuzz --cases $${FUZZ_CASES:-20000}

bench: setup
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_network.py

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
