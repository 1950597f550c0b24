#!/usr/bin/env bash
# Create .venv with everything retrofleet needs (idempotent). Usage:
#   bash scripts/setup.sh          runtime + test dependencies
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
echo "setup: installing requirements (first run takes a few minutes)" >&2
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
echo "setup: done" >&2
