# Two commands do all set-up on a fresh machine (python3 + make):
#   make demo   start a child under every installed method and show what happened
#   make test   run the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DISTS := core $(sort $(dir $(wildcard plugins/*/pyproject.toml))) $(sort $(dir $(wildcard examples/*/pyproject.toml))) benchmarks
STAMP := $(VENV)/.procstart-installed

.PHONY: demo test venv lint lint-imports typecheck bench bench-3.13 bench-page clean docs dist cpython-suite

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
	$(PY) -m mypy core/src $(wildcard plugins/*/src) $(wildcard examples/*/src) benchmarks/src

# `make bench`: one stored run per Python (the default one, and 3.13 from pyenv
# when present), then docs/benchmarks.md and its chart generated from the stored
# JSON alone. Peers (loky, multiprocess), numpy and matplotlib go into the venvs
# only for this: never runtime dependencies. BENCH_ARGS=--quick for a short run.
# The example plugins wrap every launch: they are left out of procstart's rows.
BENCH_RESULTS := benchmarks/results
BENCH_WITHOUT := $(shell sed -n 's/^name = "\(.*\)"/\1/p' $(wildcard examples/*/pyproject.toml) | paste -sd, -)
BENCH_RUN = -m procstart bench --methods fork,forkserver,spawn --quiet \
	$(if $(BENCH_WITHOUT),--without $(BENCH_WITHOUT)) $(BENCH_ARGS)
PY313_PREFIX := $(shell pyenv prefix 3.13.0 2>/dev/null)
PY313 := $(PY313_PREFIX)/bin/python

# the configuration reference in docs/user-guide.md, from the declared keys
docs: $(STAMP)
	$(PY) docs/update_config_reference.py

bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r benchmarks/requirements.txt
	@mkdir -p $(BENCH_RESULTS)
	$(PY) $(BENCH_RUN) --json $(BENCH_RESULTS)/python-$$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])').json
	$(MAKE) --no-print-directory bench-3.13
	$(MAKE) --no-print-directory bench-page

# the 3.13 run on its own (a recipe line naming $(MAKE) runs even under
# `make -n`: the measurement stays off such lines, so `make -n bench` only prints)
bench-3.13: $(STAMP)
ifneq ($(PY313_PREFIX),)
	$(MAKE) --no-print-directory venv PYTHON="$(PY313)" VENV=.venv-3.13
	.venv-3.13/bin/python -m pip install --quiet --disable-pip-version-check -r benchmarks/requirements.txt
	@mkdir -p $(BENCH_RESULTS)
	.venv-3.13/bin/python $(BENCH_RUN) --json $(BENCH_RESULTS)/python-3.13.json
else
	@echo "note: Python 3.13 not found (pyenv prefix 3.13.0): its run is skipped"
endif

# the page and chart from the stored runs only (measures nothing)
bench-page: $(STAMP)
	$(PY) -m procstart bench --quiet --from-json $(sort $(wildcard $(BENCH_RESULTS)/python-*.json)) \
		--chart docs/benchmarks.png --markdown docs/benchmarks.md --notes benchmarks/NOTES.md

# wheels of every distribution (core, plugins, examples) into dist/, built
# offline with the dev venv's hatchling: pip install --find-links dist procstart-forkserver
dist: $(STAMP)
	rm -rf dist
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist $(addprefix ./,$(DISTS))
	@ls dist

# CPython's own multiprocessing suite, stdlib vs procstart (through the bridge),
# every method, on this venv's Python and on 3.13 (.venv-3.13, made here if
# missing). CPYTHON_SUITE_ARGS: e.g. --method spawn, --jobs 1, a test name.
cpython-suite: $(STAMP)
	$(MAKE) venv PYTHON=$(PY313) VENV=.venv-3.13
	$(PY) tests/cpython/run_suite.py --python $(PY) --python .venv-3.13/bin/python $(CPYTHON_SUITE_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache dist
