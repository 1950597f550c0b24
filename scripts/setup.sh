#!/usr/bin/env bash
# Create .venv with everything retrofleet needs (idempotent).
#   bash scripts/setup.sh          runtime + test dependencies (pip), the retrofleet command
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
# The `retrofleet` command (pyproject.toml), editable: it runs this checkout's code.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
# stable-retro ships one ROM (Airstriker); ale-py ships the Atari 2600 ones (docs/GAMES.md).
.venv/bin/python -m services.games --import-roms

# Tests also use headless Chromium (the web viewer) and `ip netns` (a viewer on
# "another machine"); without them those two tests skip and say why.
if [ "${1:-}" = "--test" ] && ! { command -v chromium && command -v ip; } >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing chromium and iproute2 for the viewer tests" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium iproute2 >/dev/null
  else
    echo "setup: chromium or ip missing and cannot apt-get them; those tests will skip" >&2
  fi
fi
echo "setup: done" >&2
