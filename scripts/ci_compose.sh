#!/usr/bin/env bash
# CI stage "compose": the real image and compose file, with 8 actor containers.
#
#   bash scripts/ci_compose.sh        (repo root, as root, after scripts/setup.sh)
#
# 1. installs the Docker engine, docker-compose and debootstrap if missing
# 2. starts an engine if none answers (and stops it again at the end)
# 3. builds the stand-in python:3.11-slim base image if missing
#    (scripts/docker_base_image.sh: no image registry is reachable in CI)
# 4. builds retrofleet:latest with the CPU torch wheel from pip's find-links
#    directory when there is one (else torch comes from the package index)
# 5. runs tests/compose (RETROFLEET_DOCKER_TESTS=1: up --scale actor=8,
#    learner restart, outside subscriber), which always ends with `down -v`
# Prints how long each step took. Every wait is bounded. Steps 1-4 live in
# scripts/docker_engine.sh (shared with scripts/ci_swarm.sh).
#
# Environment: RETROFLEET_CI_NICE=N runs the image builds and the tests under
# `nice -n N` (1-19), e.g. while a training run shares the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

CI_NAME=ci_compose
PROJECT="retrofleet-ci-$$"
source scripts/docker_engine.sh
LOGS=$(mktemp -d /tmp/retrofleet-ci-compose.XXXXXX)

compose() {  # `docker compose` (v2) if installed, else docker-compose (v1)
  if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi
}

cleanup() {
  local rc=$?
  set +e
  if [ -n "$DOCKERD_PID" ] || docker info >/dev/null 2>&1; then
    # Safety net if pytest was killed before its own `down -v`.
    compose -f docker-compose.yml -f tests/compose/docker-compose.test.yml -p "$PROJECT" \
      --profile viewer down -v --remove-orphans -t 5 >/dev/null 2>&1
  fi
  remove_staged_wheels
  stop_engine
  print_timings
  [ "$rc" -ne 0 ] && log "failed (exit $rc); logs in $LOGS"
  exit "$rc"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || die "run as root (installs packages, starts dockerd)"
[ -x .venv/bin/python ] || die ".venv missing: run bash scripts/setup.sh first"

timed install install_missing compose
timed engine start_engine
timed base_image build_base_image
timed image build_image
log "running tests/compose (project $PROJECT)"
timed test env RETROFLEET_DOCKER_TESTS=1 COMPOSE_TEST_PROJECT="$PROJECT" RETROFLEET_IMAGE="$IMAGE" \
  timeout 1200 "${NICE[@]}" .venv/bin/python -m pytest -q tests/compose
log "passed"
