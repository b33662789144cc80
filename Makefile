# Two commands (see README): `make train` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: train test lint clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

train: $(STAMP)
	$(PY) scripts/ml/create_ml_models.py --source sample --verbose

test: $(STAMP)
	$(PY) -m ruff check src scripts tests
	$(PY) -m pytest -n 2 -q

clean-venv:
	rm -rf $(VENV)
