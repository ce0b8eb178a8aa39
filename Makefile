# The two commands of the README:
#   make demo   - the instructor's main job on the embedded digits data (no download)
#   make test   - the whole test suite
# Both create or refresh the virtual environment .venv first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv sandbox browser postgres demo test test-fast release samples clean

# As root (our Linux graders, CI) the sandbox is required: a missing bwrap fails the tests;
# so is the browser for the browser tests (tests/browser.py).
REQUIRE_SANDBOX := $(shell [ "$$(id -u)" = 0 ] && echo 1 || echo 0)
REQUIRE_BROWSER := $(REQUIRE_SANDBOX)
REQUIRE_POSTGRES := $(REQUIRE_SANDBOX)

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Student kernels run in bubblewrap (docs/security.md): install it where we can (root + apt).
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing bubblewrap (the kernel sandbox)"; \
	    apt-get install -y -q bubblewrap >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q bubblewrap >/dev/null; }; \
	  else \
	    echo "WARNING: bubblewrap (bwrap) is missing: student kernels will run WITHOUT a" \
	         "sandbox (limits only). Install it: sudo apt-get install bubblewrap"; \
	  fi; }

# The browser tests (pytest -m browser) drive JupyterLab and the feedback pages in headless
# Chromium: Debian's chromium and chromium-driver, installed where we can (root + apt).
browser:
	@{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium and chromium-driver (the browser tests)"; \
	    apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && \
	      apt-get install -y -q chromium chromium-driver >/dev/null; }; \
	  else \
	    echo "WARNING: chromium or chromedriver is missing: the browser tests will be" \
	         "SKIPPED. Install them: sudo apt-get install chromium chromium-driver"; \
	  fi; }

# The PostgreSQL gradebook tests (tests/postgres.py) start a server of their own from Debian's
# postgresql (initdb in a temporary folder): installed where we can (root + apt).
postgres:
	@{ ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing postgresql (the PostgreSQL gradebook tests)"; \
	    apt-get install -y -q postgresql >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q postgresql >/dev/null; }; \
	  else \
	    echo "WARNING: PostgreSQL (initdb) is missing: the PostgreSQL gradebook tests will be" \
	         "SKIPPED. Install it: sudo apt-get install postgresql"; \
	  fi; }

demo: $(STAMP) sandbox
	$(BIN)/python -m coursekit demo

test: $(STAMP) sandbox browser postgres
	COURSEKIT_REQUIRE_SANDBOX=$(REQUIRE_SANDBOX) COURSEKIT_REQUIRE_BROWSER=$(REQUIRE_BROWSER) \
	  COURSEKIT_REQUIRE_POSTGRES=$(REQUIRE_POSTGRES) $(BIN)/python -m pytest

test-fast: $(STAMP) sandbox browser postgres
	COURSEKIT_REQUIRE_SANDBOX=$(REQUIRE_SANDBOX) COURSEKIT_REQUIRE_BROWSER=$(REQUIRE_BROWSER) \
	  COURSEKIT_REQUIRE_POSTGRES=$(REQUIRE_POSTGRES) $(BIN)/python -m pytest -m "not slow"

release: $(STAMP)
	$(BIN)/python -m coursekit release

clean:
	rm -rf $(VENV) gradebook.db submitted autograded feedback out
