# Two commands do all the set-up on a fresh machine with Python 3.10+:
#   make demo   trains the scalar demo (two moons)
#   make test   runs the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(BIN)/activate

demo: $(BIN)/activate
	$(BIN)/python demos/moons.py

test: $(BIN)/activate
	$(BIN)/python -m pytest
