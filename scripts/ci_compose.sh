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
# Prints how long each step took. Every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=retrofleet:latest
BASE_IMAGE=python:3.11-slim
WHEELS=.docker-wheels
PROJECT="retrofleet-ci-$$"
LOGS=$(mktemp -d /tmp/retrofleet-ci-compose.XXXXXX)
DOCKERD_PID=""
MADE_WHEELS=""
TIMINGS=()

log() { echo "ci_compose: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Heavy steps yield the CPU while a training benchmark is running here.
NICE=()
[ -e /tmp/TRAINING_RUN_ACTIVE ] && NICE=(nice -n 19)

timed() {  # timed NAME COMMAND...: run it and remember how long it took
  local name=$1 start=$SECONDS
  shift
  "$@"
  TIMINGS+=("$name $((SECONDS - start))s")
}

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
  [ -n "$MADE_WHEELS" ] && rm -rf "$WHEELS"
  if [ -n "$DOCKERD_PID" ]; then
    kill "$DOCKERD_PID" 2>/dev/null
    timeout 30 tail --pid="$DOCKERD_PID" -f /dev/null 2>/dev/null
  fi
  for t in "${TIMINGS[@]}"; do log "time: $t"; done
  [ "$rc" -ne 0 ] && log "failed (exit $rc); logs in $LOGS"
  exit "$rc"
}
trap cleanup EXIT

install_missing() {
  local pkgs=()
  command -v dockerd >/dev/null || pkgs+=(docker.io)
  docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null \
    || pkgs+=(docker-compose)
  command -v debootstrap >/dev/null || pkgs+=(debootstrap)
  [ ${#pkgs[@]} -eq 0 ] && return 0
  log "installing ${pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    "${pkgs[@]}" >"$LOGS/apt.log" 2>&1 || { tail -20 "$LOGS/apt.log" >&2; die "apt-get failed"; }
}

start_engine() {
  docker info >/dev/null 2>&1 && return 0
  # --iptables=false: CI machines do not let the engine program the firewall.
  # Builds use the host network; containers talk to each other on the bridge
  # and the host reaches published ports through the engine's userland proxy.
  log "starting dockerd"
  dockerd --iptables=false >"$LOGS/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && return 0
    kill -0 "$DOCKERD_PID" 2>/dev/null || { tail -20 "$LOGS/dockerd.log" >&2; die "dockerd exited"; }
    sleep 1
  done
  die "dockerd did not answer within 60s (see $LOGS/dockerd.log)"
}

# The CPU torch wheel pinned in requirements.txt, from pip's find-links
# directory (discovered here, never named in the repo); CUDA builds are GBs.
stage_torch_wheel() {
  local version dir wheel
  version=$(sed -n 's/^torch==\([^ ;#]*\).*/\1/p' requirements.txt)
  dir=$(.venv/bin/python -m pip config list 2>/dev/null \
    | awk -F= '/find-links=/ {gsub(/\x27/, "", $2); print $2; exit}' || true)
  [ -n "$version" ] && [ -n "$dir" ] && [ -d "$dir" ] || return 0
  wheel=$(find "$dir" -maxdepth 1 -name "torch-${version}[+-]*.whl" | head -1)
  [ -n "$wheel" ] || return 0
  if [ ! -d "$WHEELS" ]; then mkdir "$WHEELS"; MADE_WHEELS=1; fi
  log "using local torch wheel $(basename "$wheel")"
  ln -f "$wheel" "$WHEELS/" 2>/dev/null || cp "$wheel" "$WHEELS/"
}

build_image() {
  stage_torch_wheel
  log "building $IMAGE"
  "${NICE[@]}" docker build --network host -t "$IMAGE" . >"$LOGS/build.log" 2>&1 \
    || { tail -30 "$LOGS/build.log" >&2; die "docker build failed (see $LOGS/build.log)"; }
}

[ "$(id -u)" -eq 0 ] || die "run as root (installs packages, starts dockerd)"
[ -x .venv/bin/python ] || die ".venv missing: run bash scripts/setup.sh first"

timed install install_missing
timed engine start_engine
timed base_image bash scripts/docker_base_image.sh "$BASE_IMAGE"
timed image build_image
log "running tests/compose (project $PROJECT)"
timed test env RETROFLEET_DOCKER_TESTS=1 COMPOSE_TEST_PROJECT="$PROJECT" RETROFLEET_IMAGE="$IMAGE" \
  timeout 1200 "${NICE[@]}" .venv/bin/python -m pytest -q tests/compose
log "passed"
