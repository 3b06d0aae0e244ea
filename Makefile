# `make run` serves both apps; `make test` runs the whole suite. Both set up .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# The newest Python >= 3.12 on PATH or under pyenv; PYTHON=/path/to/python overrides the search.
define find_python
for p in $(PYTHON) python3.14 python3.13 python3.12 python3 \
    $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.*/bin/python 2>/dev/null | sort -rV); do \
  if "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
    command -v "$$p"; exit 0; fi; \
done; exit 1
endef

.PHONY: run test test-postgresql test-compose fuzz lint format lock clean browser screenshots bench bench-plan asgi-cost wrk

$(PY):
	@python=$$($(find_python)) || { \
	  echo "error: this project needs Python >= 3.12 (Django 6 requires it)." >&2; \
	  echo "  None was found on PATH (python3.12, python3.13, python3) or under pyenv." >&2; \
	  echo "  Install one (e.g. 'pyenv install 3.13') or run: make PYTHON=/path/to/python3.12 ..." >&2; \
	  exit 1; }; \
	echo "Creating $(VENV) with $$python ($$($$python --version))"; \
	"$$python" -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

run: $(STAMP)
	$(PY) -m compare.live --site 8080 --upstream-port 8083 aiohttp=8081 django-daphne=8082

# Both passes run, whatever the first one gives; `make test` fails if either failed.
# PYTEST_XDIST: pytest-xdist's processes, one per target (tests/plugins/scheduler.py: a target's tests
# share a process, which starts its server once); they mostly wait for their servers, so six
# keep even two cores busy without crowding them. PYTEST_XDIST= runs everything in one process.
# --durations: the 30 slowest tests, where the pass's time goes.
PYTEST_XDIST ?= -n 6 --dist loadgroup
test: $(STAMP) lint browser wrk
	@status=0; \
	$(PY) -m pytest $(PYTEST_XDIST) -m "not compose" --durations=30 || status=$$?; \
	$(MAKE) --no-print-directory test-postgresql || status=$$?; \
	$(MAKE) --no-print-directory test-compose || status=$$?; \
	exit $$status

# The generated requests' long run (tests/test_generated.py): FUZZ_EXAMPLES requests, each sent
# to every target, and one websocket conversation for every eight, from FUZZ_SEED (make test
# sends 400 from seed 0). FUZZ_TESTS=requests runs the HTTP requests alone.
FUZZ_EXAMPLES ?= 50000
FUZZ_SEED ?= 1
FUZZ_TESTS ?= generated
fuzz: $(STAMP)
	$(PY) -m pytest tests/test_generated.py -k "$(FUZZ_TESTS)" --generated-examples=$(FUZZ_EXAMPLES) --generated-seed=$(FUZZ_SEED)

# The second pass of `make test`: the parity matrix and the data tests again, on PostgreSQL at
# PG_URL, each server on a database the suite creates and drops. Without PostgreSQL it says why
# it did not run; in CI (CI=true) that fails the build.
PG_URL ?= postgresql://postgres@127.0.0.1:5432
PG_TESTS := tests/test_parity.py tests/test_parity_data.py tests/test_data_schema.py \
	tests/test_parity_patterns.py
# Not aiohttp-best and django-granian: they run the same database code as aiohttp and
# django-uvicorn (the same app, ORM and drivers; another loop, JSON library or server), and two
# more targets on six processes would nearly double the pass. PG_TARGETS= runs every target
# (the two passed here: 773 passed, 5 xfailed, in 4 min 42 s on a loaded machine).
PG_TARGETS ?= --target aiohttp --target aiohttp-gunicorn --target django-daphne \
	--target django-uvicorn --target django-hypercorn --target django-wsgi
test-postgresql: $(STAMP)
	@if reason=$$($(PY) -m tests.databases probe "$(PG_URL)"); then \
	  echo "PostgreSQL pass: $(PG_URL)"; \
	  $(PY) -m pytest $(PYTEST_XDIST) $(PG_TESTS) $(PG_TARGETS) --database "$(PG_URL)" --parity-report=; \
	else \
	  echo "*** PostgreSQL pass NOT RUN: $$reason" >&2; \
	  echo "*** (PG_URL=postgresql://USER@HOST:PORT picks another server)" >&2; \
	  if [ -n "$$CI" ]; then echo "*** CI must run it: failing." >&2; exit 1; fi; \
	fi

# The third pass of `make test`: docker-compose.yml brought up for real, alone on the machine
# (tests/test_compose_stack.py: the parity matrix through nginx, a chat across replicas, one
# replica killed, the stack down). It needs COMPOSE_LAB, the team's compose-lab (podman and
# stand-in images; root), which .ci/run sets; without it the test says why it did not run, and
# with COMPOSE_LAB_REQUIRED set (CI) that fails the build.
test-compose: $(STAMP)
	$(PY) -m pytest -m compose tests/test_compose_stack.py

# tests/test_browser.py drives Debian's chromium (Playwright cannot download its own browser here;
# CHROMIUM=/path/to/chrome picks another); a CJK font lets the spec's non-Latin text render.
browser:
	@if ! command -v "$${CHROMIUM:-chromium}" >/dev/null || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing chromium and a CJK font for tests/test_browser.py (apt-get)"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-wqy-microhei; \
	  elif ! command -v "$${CHROMIUM:-chromium}" >/dev/null; then \
	    echo "error: tests/test_browser.py needs Chromium: sudo apt-get install -y chromium" >&2; \
	    echo "  (or set CHROMIUM=/path/to/chromium)" >&2; \
	    exit 1; \
	  fi; \
	fi

# `make bench`: every behaviour on every target and baseline, 5 rounds (some five hours), into
# docs/bench/ (results.json, summary.md, plots/, a new history/ file) and docs/measurements.md's results
# block; a disturbed run goes to var/bench/ and stops there (docs/measurements.md). Its HTTP load is
# wrk's: the wrk target installs Debian's when it is missing and make runs as root.
# `make bench PART=basics`: one part of it (compare/bench/bench.toml's [parts], each under an hour), a
# run of its own whose measurements replace that part's in docs/bench/results.json and keep the
# others'. `make bench-plan` (PART=... too) prints what a run measures and its estimated time.
# BENCH_ARGS adds options, e.g. BENCH_ARGS='--behaviour json --rounds 5'.
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	@touch $@

bench: $(BENCH_STAMP) wrk
	$(PY) -m compare bench --out docs/bench $(if $(PART),--part $(PART)) $(BENCH_ARGS)
	$(PY) -m compare docs

bench-plan: $(BENCH_STAMP)
	$(PY) -m compare bench --plan $(if $(PART),--part $(PART)) $(BENCH_ARGS)

# docs/django-asgi-cost.md's measurements: Django's servers, middleware sets, sync and async views.
asgi-cost: $(BENCH_STAMP) wrk
	$(PY) -m compare.bench.asgi_cost --out docs/bench/asgi-cost.json
	$(PY) -m compare docs

# The bench's HTTP load is wrk's (make bench, make asgi-cost, and tests/test_bench.py in make test).
wrk:
	@if ! command -v wrk >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing wrk for the bench (apt-get)"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; \
	  else \
	    echo "error: wrk is not installed, and the bench (tests/test_bench.py too) cannot run" >&2; \
	    echo "  without it: its HTTP load is wrk's. Install it: sudo apt-get install -y wrk" >&2; \
	    exit 1; \
	  fi; \
	fi

# Re-take docs/screenshot-ws-echo.png (the README's picture) from the browser test.
screenshots: $(STAMP) browser
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest -q tests/test_browser.py

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# Re-pin every dependency to what is installed now (after a tested upgrade).
lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable | grep -v '^async-web-parity' > constraints.txt

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
