#!/usr/bin/env bash
# CI stage "swarm": docker-stack.yml on a single-node Docker Swarm.
#
#   bash scripts/ci_swarm.sh        (repo root, as root, after scripts/setup.sh)
#
# In CI it runs right after scripts/ci_compose.sh and reuses its images.
# 1. engine and images as in ci_compose (scripts/docker_engine.sh): installs
#    what is missing, starts dockerd --iptables=false if no engine answers,
#    builds the base and project images (seconds when cached)
# 2. `docker swarm init --advertise-addr 127.0.0.1` unless the engine is in a
#    swarm already
# 3. runs tests/swarm (RETROFLEET_SWARM_TESTS=1): a stack without its image,
#    then one stack with the learner pinned by a node label, 8 actor replicas,
#    frames through the published port, `service update --force` of the
#    learner, `service scale` to 12 actors
# 4. always: `docker stack rm`, and `docker swarm leave --force` if step 2
#    made the swarm; stops an engine it started
# Prints how long each step took. Every wait is bounded.
#
# Environment: RETROFLEET_CI_NICE=N runs the image builds and the tests under
# `nice -n N` (1-19), e.g. while a training run shares the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

CI_NAME=ci_swarm
STACK="rfci$$"
MADE_SWARM=""
source scripts/docker_engine.sh
LOGS=$(mktemp -d /tmp/retrofleet-ci-swarm.XXXXXX)

swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || true; }

join_swarm() {
  [ "$(swarm_state)" = active ] && { log "engine is in a swarm already: using it"; return 0; }
  docker swarm init --advertise-addr 127.0.0.1 >"$LOGS/swarm-init.log" 2>&1 \
    || { cat "$LOGS/swarm-init.log" >&2; die "docker swarm init failed"; }
  MADE_SWARM=1
}

cleanup() {
  local rc=$?
  set +e
  if docker info >/dev/null 2>&1; then
    # Safety net if pytest was killed before its own `docker stack rm`.
    docker stack rm "$STACK" >/dev/null 2>&1
    for _ in $(seq 60); do
      [ -z "$(docker ps -aq --filter "label=com.docker.stack.namespace=$STACK")" ] && break
      sleep 1
    done
    docker volume rm "${STACK}_runs" >/dev/null 2>&1
    if [ -n "$MADE_SWARM" ]; then
      docker swarm leave --force >/dev/null 2>&1 || log "warning: docker swarm leave --force failed"
      docker network rm docker_gwbridge >/dev/null 2>&1  # made by swarm init, unused now
    fi
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

timed install install_missing
timed engine start_engine
timed base_image build_base_image
timed image build_image
timed swarm_init join_swarm
log "running tests/swarm (stack $STACK)"
timed test env RETROFLEET_SWARM_TESTS=1 SWARM_TEST_STACK="$STACK" RETROFLEET_IMAGE="$IMAGE" \
  timeout 900 "${NICE[@]}" .venv/bin/python -m pytest -q tests/swarm
log "passed"
