# simdyn: `make run` and `make test` set everything up from scratch on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
OUT    ?= runs/default

.PHONY: setup setup-run run test lint typecheck unit doctest notebooks bench bench-sweep clean browser xmile-conformance fuzz

# `make run` installs only what running needs; the dev tools come with `make setup` / `make test`
setup-run: $(RUN_STAMP)

$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUN_STAMP)

run: setup-run
	$(BIN)/simdyn run --out $(OUT)

# headless Chromium renders the HTML report in the browser test; Graphviz (with its headers, for
# pygraphviz) draws causal-loop diagrams; without them, installing them needs root (apt-get), so
# say so before doing it
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  echo "make test: installing headless Chromium with apt-get (needs root) for the report test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@{ command -v dot >/dev/null && test -f /usr/include/graphviz/cgraph.h; } || { \
	  echo "make test: installing Graphviz with apt-get (needs root) for the loop diagrams"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz libgraphviz-dev; }

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
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_churn.py --write
	$(BIN)/python benchmarks/bench_network.py
	$(BIN)/python benchmarks/bench_backends.py

# the vendored SDXorg XMILE cases through the command line (the unit tests run them in-process)
xmile-conformance: setup
	cd tests/xmile/conformance && $(CURDIR)/$(BIN)/python run_harness.py --rule xmile -j 2 \
		--engine "$(CURDIR)/$(BIN)/simdyn simulate {model} --csv {out_csv}"

# the sweep benchmark takes about half an hour at full size (10^6 scenarios, serial and dask)
bench-sweep: setup
	$(BIN)/python benchmarks/bench_sweep.py --write

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
