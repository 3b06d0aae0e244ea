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

.PHONY: run test lint format lock clean browser screenshots

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
	$(PY) -m shared.serve --site 8080 aiohttp=8081 django-daphne=8082

test: $(STAMP) lint browser
	$(PY) -m pytest

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

# Re-take docs/screenshot-ws-echo.png (the README's picture) from the browser test.
screenshots: $(STAMP) browser
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest -q tests/test_browser.py

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# Re-pin every dependency to what is installed now (after a tested upgrade).
lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable | grep -v '^async-web-parity' > constraints.txt

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
