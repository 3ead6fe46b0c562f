# Two commands: `make demo` and `make test`. Each sets itself up from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9
DEMO_DIR ?= demo
DEMO_REFERRALS ?= 20000
# The demo's own service state (database, MLflow store), reset on every run.
DEMO_STATE ?= var/demo
# The demo's API-key pepper: random, made anew with its state (mode 0600, never printed;
# env.sh reads it from there).
DEMO_PEPPER = $(DEMO_STATE)/api-key-pepper
DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 8000
DEMO_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)
DEMO_ROLES := triage data_scientist governance admin
# A case to try POST /v1/score with: the promoted model's highest-scoring golden case.
DEMO_CASE_PY := import json; from api.settings import Settings as S; from model.registry \
  import ModelRegistry as R; s = S(); r = R(s.mlflow_tracking_uri, model_name=s.model_name, \
  artifact_root=s.mlflow_artifact_root); case = r.load(s.model_alias).golden[-1]["payload"]; \
  open("$(DEMO_DIR)/case.json", "w").write(json.dumps(case, indent=1))
# Every command of the demo runs under umask 077: all it writes (its state: the keys in
# governance.key and env.sh, the databases, the MLflow store's golden sets of cases; and
# its extract) is readable by its user alone, files 0600 and folders 0700.
PRIVATE := umask 077 &&
# The demo's port, checked before anything is reset or trained: a port in use (another
# service, another demo) ends `make demo` at once in one line saying how to choose another.
DEMO_PORT_PY := import sys; from api.server import port_refusal; why = port_refusal( \
  "$(DEMO_HOST)", $(DEMO_PORT)); why and sys.exit("make demo: " + why + "; choose another \
  port: DEMO_PORT=8125 make demo")
# Front-end assets the service serves itself (never a CDN): npm packages pinned in
# package.json and package-lock.json, copied into an ignored folder of the app.
SWAGGER_UI := api/static/vendor/swagger-ui
SWAGGER_UI_FILES := swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE NOTICE
GOVUK_FRONTEND := api/static/vendor/govuk-frontend
GOVUK_FRONTEND_DIST := node_modules/govuk-frontend/dist/govuk
ASSETS_STAMP := api/static/vendor/.installed
# The browser the browser tests drive: Debian's Chromium (Playwright downloads none).
CHROMIUM ?= /usr/bin/chromium
# The load generator for bench/bench_api.py, unpacked here when not installed.
TOOLS := var/tools
WRK_DEBS := wrk libluajit-5.1-2 libluajit-5.1-common

.PHONY: help install assets browser demo demo-state test lint bench clean postgres wrk mutation

help:
	@echo "make demo   - set up, generate an extract, train, create users, approve, promote, serve on :8000"
	@echo "              (DEMO_PORT=8125 make demo: another port; checked before anything runs)"
	@echo "make test   - set up and run the whole test suite"
	@echo "make lint   - ruff, mypy and the secret scan (detect-secrets, .secrets.baseline)"
	@echo "make bench  - speed, memory and model-quality figures beside their references"
	@echo "              (bench/results.json, bench/RESULTS.md; QUICK=1: small and fast)"
	@echo "make mutation - mutation testing of the promise-carrying modules (up to an hour)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# --compile-bytecode, as pip does by default: without it every command compiles the
# libraries it imports, each run again when PYTHONDONTWRITEBYTECODE is set (seconds);
# the project's own packages are compiled too (`safeguard --help`: 0.13 s with, 0.65 s
# without, measured by bench/bench_cli.py).
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	@command -v java >/dev/null 2>&1 || echo "Java 17 is not on PATH: the spark extra installs, \
	  but --engine spark and tests/spark need it (apt-get install openjdk-17-jre-headless)"
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c constraints.txt \
	  -e ".[dev,spark]"
	$(BIN)/python -m compileall -q data_contracts pipelines model api
	touch $(STAMP)

install: $(STAMP)

# --ignore-scripts: no package runs code at install (swagger-ui-dist's analytics
# dependency would otherwise try to report the install to its vendor).
$(ASSETS_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(SWAGGER_UI) && mkdir -p $(SWAGGER_UI)
	cp $(addprefix node_modules/swagger-ui-dist/,$(SWAGGER_UI_FILES)) $(SWAGGER_UI)/
	rm -rf $(GOVUK_FRONTEND) && mkdir -p $(GOVUK_FRONTEND)
	cp $(GOVUK_FRONTEND_DIST)/govuk-frontend.min.css $(GOVUK_FRONTEND_DIST)/govuk-frontend.min.js \
	  $(GOVUK_FRONTEND)/
	cp -r $(GOVUK_FRONTEND_DIST)/assets $(GOVUK_FRONTEND)/assets
	touch $@

assets: $(ASSETS_STAMP)

browser:
	@[ -x $(CHROMIUM) ] || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

postgres:
	@pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 || \
	  (command -v pg_ctlcluster >/dev/null && \
	   pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start) || \
	  echo "PostgreSQL is not available; the PostgreSQL store tests will say so"

# The demo's state, reset, and its pepper: a prerequisite of `demo`, so that the pepper
# exists when make reads it into the environment of the demo's commands (as their recipe
# starts), as a real service reads its own (it was the development placeholder, and each
# of the demo's commands and workers warned so: a dozen warnings in every `make demo`).
demo-state: $(STAMP)
	@$(BIN)/python -c '$(DEMO_PORT_PY)'
	rm -rf $(DEMO_DIR) $(DEMO_STATE)
	$(PRIVATE) mkdir -p $(DEMO_STATE)
	@$(PRIVATE) $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(48))' \
	  > $(DEMO_PEPPER)

demo: export SAFEGUARD_API_KEY_PEPPER = $(shell cat $(DEMO_PEPPER) 2>/dev/null)
demo: export SAFEGUARD_DATABASE_URL = sqlite:///$(abspath $(DEMO_STATE))/safeguard.db
demo: export SAFEGUARD_MLFLOW_TRACKING_URI = sqlite:///$(abspath $(DEMO_STATE))/mlflow.db
demo: export SAFEGUARD_MLFLOW_ARTIFACT_ROOT = $(abspath $(DEMO_STATE))/mlartifacts
# The audit chain's anchor: a key (mode 0600) and checkpoint file the database does not hold.
demo: export SAFEGUARD_AUDIT_KEY_FILE = $(abspath $(DEMO_STATE))/audit.key
demo: export SAFEGUARD_AUDIT_CHECKPOINT_FILE = $(abspath $(DEMO_STATE))/audit-checkpoints.jsonl
# Where the governance pages read the oversight reports (`safeguard monitor` and `safeguard
# report partnership` write there): without it the demo's pages could never show them.
demo: export SAFEGUARD_REPORTS_DIR = $(abspath $(DEMO_STATE))/reports
demo: $(STAMP) $(ASSETS_STAMP) demo-state
	$(PRIVATE) $(BIN)/safeguard audit init-key
	$(PRIVATE) $(BIN)/safeguard synth --out $(DEMO_DIR)/extract --referrals $(DEMO_REFERRALS) --seed 42 --format parquet
	$(PRIVATE) $(BIN)/safeguard validate --input $(DEMO_DIR)/extract --report $(DEMO_DIR)/validation
	$(PRIVATE) $(BIN)/safeguard features --input $(DEMO_DIR)/extract --output $(DEMO_DIR)/features/features.parquet
	$(PRIVATE) $(BIN)/safeguard train --input $(DEMO_DIR)/extract
	$(PRIVATE) $(BIN)/safeguard audit fairness --model latest --input $(DEMO_DIR)/extract --output $(DEMO_DIR)/fairness
	$(PRIVATE) $(BIN)/safeguard db upgrade
	@$(PRIVATE) for role in $(DEMO_ROLES); do \
	  $(BIN)/safeguard users add demo-$$role --role $$role > $(DEMO_STATE)/user.out || exit 1; \
	  cat $(DEMO_STATE)/user.out; [ $$role != governance ] || \
	  tail -n 1 $(DEMO_STATE)/user.out > $(DEMO_STATE)/governance.key; done; rm $(DEMO_STATE)/user.out
	$(PRIVATE) MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false $(BIN)/python -m api.demo_approval $(DEMO_STATE)/governance.key
	@echo "make demo: the model was approved as the demo governance user demo-governance (above: the"
	@echo "  thresholds it waived and why); a real board reads the card first: safeguard model card"
	$(PRIVATE) $(BIN)/safeguard model promote latest
	$(PRIVATE) MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false $(BIN)/python -c '$(DEMO_CASE_PY)'
	@$(PRIVATE) printf 'export SAFEGUARD_DATABASE_URL=%s\nexport SAFEGUARD_MLFLOW_TRACKING_URI=%s\nexport SAFEGUARD_MLFLOW_ARTIFACT_ROOT=%s\n' \
	  "$$SAFEGUARD_DATABASE_URL" "$$SAFEGUARD_MLFLOW_TRACKING_URI" "$$SAFEGUARD_MLFLOW_ARTIFACT_ROOT" \
	  > $(DEMO_STATE)/env.sh
	@$(PRIVATE) printf 'export SAFEGUARD_AUDIT_KEY_FILE=%s\nexport SAFEGUARD_AUDIT_CHECKPOINT_FILE=%s\n' \
	  "$$SAFEGUARD_AUDIT_KEY_FILE" "$$SAFEGUARD_AUDIT_CHECKPOINT_FILE" >> $(DEMO_STATE)/env.sh
	@$(PRIVATE) printf 'export SAFEGUARD_REPORTS_DIR=%s\n' "$$SAFEGUARD_REPORTS_DIR" >> $(DEMO_STATE)/env.sh
	@$(PRIVATE) printf 'export SAFEGUARD_API_KEY_PEPPER=%s\n' '"$$(cat $(abspath $(DEMO_PEPPER)))"' \
	  >> $(DEMO_STATE)/env.sh
	@echo "Keep the keys above: they are not shown again. To run safeguard commands against"
	@echo "the demo's database and models: . $(DEMO_STATE)/env.sh"
	@echo "Try: curl -s -H \"Authorization: Bearer <triage key>\" -H 'Content-Type: application/json' \\"
	@echo "       --data @$(DEMO_DIR)/case.json http://$(DEMO_HOST):$(DEMO_PORT)/v1/score"
	@echo "Web pages: http://$(DEMO_HOST):$(DEMO_PORT)/   (sign in with one of the keys above)"
	@echo "Oversight reports on the governance page: after . $(DEMO_STATE)/env.sh, run"
	@echo "  $(BIN)/safeguard monitor --input $(DEMO_DIR)/extract --output \$$SAFEGUARD_REPORTS_DIR/monitor"
	@echo "  $(BIN)/safeguard report partnership --input $(DEMO_DIR)/extract --output \$$SAFEGUARD_REPORTS_DIR/partnership"
	@echo "OpenAPI page: http://$(DEMO_HOST):$(DEMO_PORT)/docs   (Ctrl-C stops the service)"
	$(PRIVATE) $(BIN)/safeguard serve --host $(DEMO_HOST) --port $(DEMO_PORT) --workers $(DEMO_WORKERS)

# --dist loadgroup: the Spark tests (group "spark") share one worker and one JVM.
# --durations=25: the slowest tests and fixtures, for keeping the suite under 20 minutes.
test: $(STAMP) $(ASSETS_STAMP) browser postgres
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q --durations=25

lint: $(STAMP)
	$(BIN)/ruff check data_contracts pipelines model api tests bench
	$(BIN)/mypy
	git ls-files -z | xargs -0 $(BIN)/detect-secrets-hook --baseline .secrets.baseline

# wrk from the distribution's packages, unpacked into $(TOOLS) (no root needed)
# when it is not installed; bench/bench_api.py looks there too.
wrk:
	@command -v wrk >/dev/null 2>&1 || [ -x $(TOOLS)/usr/bin/wrk ] || { \
	  mkdir -p $(TOOLS)/debs && (cd $(TOOLS)/debs && apt-get download $(WRK_DEBS)) && \
	  for deb in $(TOOLS)/debs/*.deb; do dpkg -x $$deb $(TOOLS) || exit 1; done; }

# Every benchmark at its stated size (bench/suite.py), each figure beside its reference:
# bench/results.json, bench/RESULTS.md and the README's "Measured figures" table.
# QUICK=1: 10,000 referrals (Spark 2,000), fewer rounds, into bench/out/quick/, README
# untouched. BENCH_OUT=DIR writes the JSON and the table there instead.
QUICK ?=
BENCH_OUT ?=
bench: $(STAMP) wrk
	$(BIN)/python bench/suite.py $(if $(filter 1 yes true,$(QUICK)),--quick,--readme README.md) \
	  $(if $(BENCH_OUT),--out $(BENCH_OUT))

# Mutation testing (mutmut, configured in pyproject.toml [tool.mutmut]); not part of `make
# test`. Niced and on at most MUTATION_CHILDREN processes, as the machine is shared.
# MUTANTS narrows a run, e.g. MUTANTS='pipelines.labels.*'; results are cached in mutants/.
MUTATION_CHILDREN ?= 2
MUTANTS ?=
mutation: $(STAMP)
	OMP_NUM_THREADS=1 nice -n 19 $(BIN)/mutmut run --max-children $(MUTATION_CHILDREN) $(MUTANTS)
	$(BIN)/python bench/mutation_score.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules api/static/vendor mutants
