# Two commands do all set-up on a fresh machine (python3 + make):
#   make demo   start a child under every installed method and show what happened
#   make test   run the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DISTS := core $(sort $(dir $(wildcard plugins/*/pyproject.toml))) $(sort $(dir $(wildcard examples/*/pyproject.toml)))
STAMP := $(VENV)/.procstart-installed

.PHONY: demo test venv lint lint-imports typecheck bench clean docs dist cpython-suite

venv: $(STAMP)

$(STAMP): Makefile requirements-dev.txt $(foreach d,$(DISTS),$(d)/pyproject.toml)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt $(foreach d,$(DISTS),-e $(d))
	@# as a wheel install would: byte-compile the sources (editable installs don't,
	@# and with PYTHONDONTWRITEBYTECODE set every child would compile them again)
	$(PY) -m compileall -q $(foreach d,$(DISTS),$(d)/src)
	@touch $@

demo: $(STAMP)
	$(PY) -m procstart demo

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP) lint-imports
	$(PY) -m ruff check core plugins tests benchmarks examples tools
	$(PY) -m ruff format --check core plugins tests benchmarks examples tools

# plugins and examples import only procstart and procstart.plugin; the core no
# plugin (import-linter; the contracts are computed from the layout)
lint-imports: $(STAMP)
	$(PY) tools/import_contract.py --check

typecheck: $(STAMP)
	$(PY) -m mypy core/src $(wildcard plugins/*/src) $(wildcard examples/*/src)

# the configuration reference in docs/user-guide.md, from the declared keys
docs: $(STAMP)
	$(PY) docs/update_config_reference.py

# peers (loky, multiprocess), numpy and matplotlib go into the dev venv only
# for this: they are never runtime dependencies. BENCH_ARGS=--quick for < 1 min.
bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r benchmarks/requirements.txt
	@mkdir -p benchmarks/results
	$(PY) -m procstart bench --json benchmarks/results/latest.json \
		--chart docs/benchmarks.png --markdown docs/benchmarks.md \
		--notes benchmarks/NOTES.md $(BENCH_ARGS)

# wheels of every distribution (core, plugins, examples) into dist/, built
# offline with the dev venv's hatchling: pip install --find-links dist procstart-forkserver
dist: $(STAMP)
	rm -rf dist
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist $(addprefix ./,$(DISTS))
	@ls dist

# CPython's own multiprocessing suite, stdlib vs procstart (through the bridge),
# every method, on this venv's Python and on 3.13 (.venv-3.13, made here if
# missing). CPYTHON_SUITE_ARGS: e.g. --method spawn, --jobs 1, a test name.
PY313 ?= $(shell pyenv prefix 3.13.0 2>/dev/null)/bin/python
cpython-suite: $(STAMP)
	$(MAKE) venv PYTHON=$(PY313) VENV=.venv-3.13
	$(PY) tests/cpython/run_suite.py --python $(PY) --python .venv-3.13/bin/python $(CPYTHON_SUITE_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache dist
