# Qunyun — the commands a newcomer needs. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# uv runs as a module of the machine's Python, so it is found wherever pip put it.
UV := python3 -m uv

.PHONY: install demo test lint pytest bench eval lock clean uv

uv:
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

$(VENV)/.installed: requirements.lock pyproject.toml | uv
	test -d $(VENV) || $(UV) venv --quiet $(VENV)
	$(UV) pip sync --quiet --python $(PY) requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	touch $@

install: $(VENV)/.installed  ## venv with the pinned dependencies and qunyun itself

demo: install  ## simulate a 3,000-member community over 180 days and summarise it
	$(VENV)/bin/qunyun demo --members 3000 --days 180

lint: install  ## ruff, formatting, mypy --strict, layer contracts
	$(VENV)/bin/ruff check src tests benchmarks evals
	$(VENV)/bin/ruff format --check src tests benchmarks evals
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

pytest: install  ## the test suite on SQLite and a throwaway PostgreSQL
	scripts/run-tests

test: lint pytest  ## everything CI runs

bench: install  ## 1M members / 20M activities: import, refresh, analytics, model fits; 2M-message platform exports; text throughput; ledger tx/s; journey steps/s and sends/s; dashboard page p95
	$(PY) benchmarks/bench_import.py
	$(PY) benchmarks/bench_analytics.py --reuse-mirror
	$(PY) benchmarks/bench_models.py
	$(PY) benchmarks/bench_formats.py
	$(PY) benchmarks/bench_text.py
	$(PY) benchmarks/bench_ledger.py
	$(PY) benchmarks/bench_journeys.py
	$(PY) benchmarks/bench_dashboard.py

eval: install  ## rules vs lifecycle models, and interest tags, on the simulator's truth; sentiment on the dev set
	$(PY) evals/churn_eval.py
	$(PY) evals/interest_eval.py
	$(PY) evals/sentiment_eval.py

lock: uv  ## re-pin requirements.lock from pyproject.toml (with the dev and spark extras)
	$(UV) pip compile --quiet pyproject.toml --extra dev --extra spark --generate-hashes --no-header -o requirements.lock

clean:
	rm -rf $(VENV) .qunyun .pytest_cache .mypy_cache .ruff_cache
