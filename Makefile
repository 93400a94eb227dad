# The two commands a newcomer needs: `make run` and `make test`. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements/dev.lock | sha256sum | cut -c1-12)

.PHONY: setup lock kubectl run test unit lint contract bench bench-webhooks clean key migrate infra-up infra-down help

help:
	@echo "make run     set up, start Kafka + PostgreSQL + the services, play the demo (Ctrl-C stops all)"
	@echo "make test    set up, then the whole suite against a fresh Kafka and PostgreSQL"
	@echo "make unit    the unit tests only (no servers)"
	@echo "make lint    ruff check, ruff format --check, mypy"
	@echo "make lock    resolve requirements/*.lock again after a change to pyproject.toml's dependencies (commit them)"
	@echo "make contract   write docs/schemas/*.json and docs/asyncapi/*.yaml from the event models (commit them)"
	@echo "make bench   the whole chain under load: throughput, latency, memory, against the bare limits"
	@echo "make bench-webhooks   a burst of 1,000 Altegio webhooks at the gateway: answer latency, time to apply"
	@echo "make key CHAIN=ch-1   a new API key for a chain (on the local stack); SCOPES=read,write,admin EXPIRES_IN_DAYS=N"
	@echo "make clean   stop the local stack and wipe .local (Kafka logs, PostgreSQL data, jars)"

# The virtualenv, rebuilt when pyproject.toml or the lock changes: exactly the pins (and hashes) of
# requirements/dev.lock, then the project itself without its dependencies. Python 3.11+ is required.
$(STAMP): pyproject.toml requirements/dev.lock
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version) if sys.version_info < (3, 11) else None'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements/dev.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*; touch $@

# After any change to pyproject.toml's dependencies: resolve both locks again (uv, for Python 3.11 on
# every platform) and commit them with it. Current pins stay where they still fit; UPGRADE=1 takes the
# newest allowed. tests/unit/test_lockfile.py fails while a lock is stale.
lock: $(STAMP)
	$(PY) -m deploy.lock $(if $(UPGRADE),--upgrade)

setup: $(STAMP)
	@command -v java >/dev/null || { echo "Java 17+ is needed for the Kafka broker"; exit 1; }
	@command -v mvn >/dev/null || { echo "Maven is needed to fetch the Kafka jars"; exit 1; }

run: setup
	$(PY) -m deploy.run

# The tests render deploy/k8s with kubectl's built-in kustomize (tests/unit/test_k8s_manifests.py).
kubectl:
	@command -v kubectl >/dev/null || { echo "kubectl is needed by the tests to render deploy/k8s (its built-in kustomize): apt-get install kubectl, or https://kubernetes.io/docs/tasks/tools/"; exit 1; }

test: setup kubectl
	$(PY) -m pytest $(PYTEST_ARGS)

unit: setup kubectl
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check shared services deploy tests bench
	$(VENV)/bin/ruff format --check shared services deploy tests bench
	$(VENV)/bin/mypy

contract: setup
	$(PY) -m shared.contract_export

bench: setup
	$(PY) -m bench

bench-webhooks: setup
	$(PY) -m bench.webhooks

migrate: setup
	$(PY) -m shared.admin migrate

key: setup
	@test -n "$(CHAIN)" || { echo "usage: make key CHAIN=<chain_id>"; exit 2; }
	@$(PY) -m shared.admin create-key --chain "$(CHAIN)" --name "$(or $(NAME),cli)" \
		$(if $(SCOPES),--scopes "$(SCOPES)") $(if $(EXPIRES_IN_DAYS),--expires-in-days "$(EXPIRES_IN_DAYS)")

infra-up: setup
	$(PY) -m deploy.local up

infra-down:
	-@test -x $(PY) && $(PY) -m deploy.local down

clean: infra-down
	rm -rf .local
