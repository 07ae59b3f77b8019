#!/usr/bin/env bash
# Set everything up (idempotent), then run the whole test suite: unit tests with stand-ins,
# integration tests with the real models and Chroma, and the browser tests in headless Chromium.
#   ./test.sh --fast   the fast tier: unit and API tests on the stand-ins (under a minute)
#   ./test.sh ARGS     any other arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")"
fast=0
if [ "${1:-}" = "--fast" ]; then
  fast=1
  shift
fi
bash scripts/setup.sh
if [ "$fast" = 1 ]; then
  .venv/bin/ruff check .
  exec .venv/bin/python -m pytest -m "not slow" "$@"
fi
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ]; then
  echo "==> Installing Chromium for the browser tests (Debian packages)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
