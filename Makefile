# Two commands: `make demo` and `make test`. Each sets itself up from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9
DEMO_DIR ?= demo
DEMO_REFERRALS ?= 20000

.PHONY: help install demo test lint bench clean postgres

help:
	@echo "make demo   - set up, generate a synthetic extract, validate it, build its features"
	@echo "make test   - set up and run the whole test suite"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - print speed, memory and model-quality figures"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

postgres:
	@pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 || \
	  (command -v pg_ctlcluster >/dev/null && \
	   pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start) || \
	  echo "PostgreSQL is not available; the PostgreSQL store tests will say so"

demo: $(STAMP)
	$(BIN)/safeguard synth --out $(DEMO_DIR)/extract --referrals $(DEMO_REFERRALS) --seed 1
	$(BIN)/safeguard validate --input $(DEMO_DIR)/extract --report $(DEMO_DIR)/validation
	$(BIN)/safeguard features --input $(DEMO_DIR)/extract --output $(DEMO_DIR)/features/features.parquet

test: $(STAMP) postgres
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check data_contracts pipelines model api tests bench
	$(BIN)/mypy

bench: $(STAMP)
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
