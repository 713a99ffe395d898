# The two commands of the README: `make quickstart` (install + the main job) and `make test`.
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.ganforge-installed
# the real data sets for tests and benchmarks; the quickstart needs none (MNIST's test split ships inside)
export GANFORGE_DATA ?= $(abspath ../shared/data)

.PHONY: install quickstart lint test bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Train a DCGAN on the embedded MNIST digits (~2-3 CPU-minutes), write a sample grid, then score it.
quickstart: $(STAMP)
	$(VENV)/bin/ganforge train quickstart --out runs/quickstart --overwrite
	$(VENV)/bin/ganforge sample runs/quickstart --n 64 --seed 0 --out runs/quickstart/grid.png --overwrite
	$(VENV)/bin/ganforge eval runs/quickstart --metrics fid,is --n 2000 --ref mnist:test --extractor lenet-mnist
	@echo "sample grid: runs/quickstart/grid.png"

# ruff: lint (pyflakes, pycodestyle, import order, pyupgrade, bugbear) and the formatter's check
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools

test: lint
	$(PY) -m pytest tests

bench: $(STAMP)
	$(PY) benchmarks/throughput.py

clean:
	rm -rf runs .pytest_cache
