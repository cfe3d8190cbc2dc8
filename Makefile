# Two commands for a fresh machine: `make run` starts the engine, `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run demo test lint bench browser broker

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/ccaas serve

demo: $(BIN)/.installed
	$(BIN)/ccaas serve --demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# the console's end-to-end tests drive Debian's Chromium: installed here when missing and
# this is root on a Debian machine (elsewhere, install chromium yourself)
browser:
	@test -x /usr/bin/chromium || { test "$$(id -u)" = 0 && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "no /usr/bin/chromium: the tests in tests/e2e will fail (apt-get install chromium)"

# the MQTT tests run on every broker there is: mosquitto (installed here when missing, as
# root on Debian) and amqtt; the crash test needs mosquitto (amqtt resends nothing in flight)
broker:
	@command -v mosquitto >/dev/null || test -x /usr/sbin/mosquitto || { test "$$(id -u)" = 0 && \
	  command -v apt-get >/dev/null && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null; } || \
	  echo "no mosquitto: the MQTT tests run on amqtt only, the crash test is skipped"

test: lint browser broker
	$(BIN)/pytest -q

bench: $(BIN)/.installed
	$(BIN)/ccaas bench routing --agents 1000 --contacts 50000 --json
