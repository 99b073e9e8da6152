# The one entry point. `make dev` runs the whole system locally; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MEMBERS := libs/common libs/devstack services/tenants services/ingest services/query services/gateway
SERVICE_SRC := libs/common/src libs/devstack/src services/tenants/src services/ingest/src services/query/src services/gateway/src

.PHONY: install system-deps dev bench-ingest test lint format clean

# Debian packages: Tesseract for OCR at run time; DejaVu for the scans the tests render
# (Pillow's built-in font has no accented letters). Installed only when missing.
TESSERACT_LANGS := eng spa
TEST_FONT := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
system-deps:
	@missing=0; for lang in $(TESSERACT_LANGS); do \
	  tesseract --list-langs 2>/dev/null | grep -qx $$lang || missing=1; done; \
	[ -f $(TEST_FONT) ] || missing=1; \
	if [ $$missing = 1 ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    tesseract-ocr $(addprefix tesseract-ocr-,$(TESSERACT_LANGS)) fonts-dejavu-core >/dev/null; \
	fi

install: system-deps $(VENV)/.installed

# Plain pip with a constraints file: the torch pin must resolve to the CPU build on disk.
$(VENV)/.installed: constraints.txt requirements-dev.txt $(addsuffix /pyproject.toml,$(MEMBERS))
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt \
		$(addprefix -e ,$(MEMBERS)) -r requirements-dev.txt
	touch $@

dev: install
	$(PY) scripts/dev.py

# Pipeline chunks/s against the bare model's on the same chunks; BENCH_ARGS="--documents 60".
bench-ingest: install
	$(PY) scripts/bench_ingest.py $(BENCH_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy $(SERVICE_SRC) scripts

test: lint
	$(PY) -m pytest

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf $(VENV) .dev .pytest_cache .mypy_cache .ruff_cache
