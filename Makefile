# Set-up is two commands on a fresh machine: `make demo` and `make test`.
PY      ?= python3
VENV    ?= .venv
BIN      = $(VENV)/bin
# The CPU build of torch that installs here; an unpinned torch pulls a multi-GB CUDA build.
TORCH   ?= torch==2.13.0
OUT     ?= actlab-report

.PHONY: demo test install install-dev chromium clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e . $(TORCH)
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]' $(TORCH)
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# every study's quick profile on the default set (resumable through the store), then the HTML report
demo: $(VENV)/.installed
	$(BIN)/actlab tour --profile quick --out $(OUT)
	@echo "open $(OUT)/index.html"

# The report's browser tests drive Debian's chromium (playwright comes with the dev extra; it downloads
# no browser).  Root installs chromium with apt-get.  Where it cannot be installed, `make test` says so
# and deselects those tests (-m 'not browser'); run directly, they fail and say how to install it.
chromium:
	@if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1 || [ -n "$$ACTLAB_CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || echo "warning: could not install chromium with apt-get"; \
	else echo "note: chromium is missing and installing it needs root (apt-get install chromium)"; fi

test: $(VENV)/.installed-dev chromium
	@if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1 || [ -n "$$ACTLAB_CHROMIUM" ]; then \
	  $(BIN)/python -m pytest -q; \
	else echo "chromium unavailable: the report's browser tests are deselected (-m 'not browser')"; \
	  $(BIN)/python -m pytest -q -m "not browser"; fi

clean:
	rm -rf $(VENV) $(OUT) actlab-gallery .pytest_cache
