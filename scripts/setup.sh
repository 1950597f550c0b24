#!/usr/bin/env bash
# Create .venv with everything retrofleet needs (idempotent).
#   bash scripts/setup.sh          runtime + test dependencies (pip)
#   bash scripts/setup.sh --test   also the system packages the tests use
#                                  (headless Chromium for the web viewer test; needs root)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
echo "setup: installing Python requirements (first run takes a few minutes)" >&2
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

if [ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing chromium (browser test of the web viewer)" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: chromium not found and cannot apt-get it; the browser test will be skipped" >&2
  fi
fi
echo "setup: done" >&2
