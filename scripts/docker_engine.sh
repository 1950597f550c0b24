# Shared by the Docker CI stages (scripts/ci_compose.sh, scripts/ci_swarm.sh):
# install the engine, start it, build the images. Source it, don't run it:
#
#   CI_NAME=ci_swarm; source scripts/docker_engine.sh; LOGS=$(mktemp -d ...)
#
# (LOGS: where the functions below write apt, dockerd and build logs.)
#
# Environment:
#   RETROFLEET_CI_NICE=N   run the heavy steps (image builds, the tests) under
#                          `nice -n N` (1-19), so CI on a machine that also
#                          trains yields the CPU; unset or 0: normal priority.
# Needs the caller's cwd at the repository root, and bash with `set -euo pipefail`.

IMAGE=retrofleet:latest
BASE_IMAGE=python:3.11-slim
WHEELS=.docker-wheels
DOCKERD_PID=""
MADE_WHEELS=""
TIMINGS=()

log() { echo "$CI_NAME: $*" >&2; }
die() { log "error: $*"; exit 1; }

case "${RETROFLEET_CI_NICE:-0}" in
  0) NICE=() ;;
  [1-9] | 1[0-9]) NICE=(nice -n "$RETROFLEET_CI_NICE") ;;
  *) echo "$CI_NAME: error: RETROFLEET_CI_NICE must be 0-19, not '$RETROFLEET_CI_NICE'" >&2; exit 2 ;;
esac

timed() {  # timed NAME COMMAND...: run it and remember how long it took
  local name=$1 start=$SECONDS
  shift
  "$@"
  TIMINGS+=("$name $((SECONDS - start))s")
}

print_timings() {
  local t
  for t in "${TIMINGS[@]}"; do log "time: $t"; done
}

install_missing() {  # install_missing [compose]: the engine, debootstrap (and docker-compose)
  local pkgs=()
  command -v dockerd >/dev/null || pkgs+=(docker.io)
  if [ "${1:-}" = compose ]; then
    docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null \
      || pkgs+=(docker-compose)
  fi
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

stop_engine() {  # only an engine this script started; the images stay on disk
  [ -n "$DOCKERD_PID" ] || return 0
  kill "$DOCKERD_PID" 2>/dev/null
  timeout 30 tail --pid="$DOCKERD_PID" -f /dev/null 2>/dev/null
  DOCKERD_PID=""
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

remove_staged_wheels() {
  [ -n "$MADE_WHEELS" ] && rm -rf "$WHEELS"
  MADE_WHEELS=""
}

build_base_image() {  # the stand-in base image where no image registry is reachable
  "${NICE[@]}" bash scripts/docker_base_image.sh "$BASE_IMAGE"
}

build_image() {  # the project image; a few seconds when the layers are cached
  stage_torch_wheel
  log "building $IMAGE"
  "${NICE[@]}" docker build --network host -t "$IMAGE" . >"$LOGS/build.log" 2>&1 \
    || { tail -30 "$LOGS/build.log" >&2; die "docker build failed (see $LOGS/build.log)"; }
}
