#!/usr/bin/env bash
# Build a stand-in for the `python:3.11-slim` base image where no image
# registry is reachable (CI machines): a minimal Debian bookworm (Python 3.11)
# made with debootstrap and imported into the local Docker engine.
#
# Usage: bash scripts/docker_base_image.sh [TAG]      (default TAG: python:3.11-slim)
#
# Does nothing when TAG already exists. Needs root and a running engine.
# The host's package mirror and CA bundle are discovered at run time and
# copied in, so `docker build --network host` inside it reaches the same
# package registries the host reaches.
set -euo pipefail

TAG="${1:-python:3.11-slim}"
SUITE=bookworm  # Debian 12 ships Python 3.11, like python:3.11-slim

log() { echo "docker_base_image: $*" >&2; }

if docker image inspect "$TAG" >/dev/null 2>&1; then
  log "$TAG already exists"
  exit 0
fi


if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

# The first Debian mirror apt uses here (deb822 or one-line format), so the
# image fetches from wherever this machine is allowed to.
mirror() {
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  if [ -z "$uri" ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; exit}}' \
      /etc/apt/sources.list 2>/dev/null || true)
  fi
  echo "$uri"
}

# The CA bundle pip trusts here (pip's `cert` setting, else SSL_CERT_FILE):
# TLS to the registries may need it, and pip does not use the system store.
ca_bundle() {
  local cert
  cert=$(python3 -m pip config list 2>/dev/null | awk -F= '/\.cert=/ {gsub(/\x27/, "", $2); print $2; exit}' || true)
  [ -n "$cert" ] || cert="${SSL_CERT_FILE:-}"
  [ -n "$cert" ] && [ -f "$cert" ] && echo "$cert"
  return 0
}

ROOT=$(mktemp -d /tmp/retrofleet-base.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT

MIRROR=$(mirror)
log "debootstrap $SUITE ${MIRROR:-(default mirror)} (about a minute)"
debootstrap --variant=minbase \
  --include=python3,python3-venv,python3-pip,ca-certificates \
  "$SUITE" "$ROOT" ${MIRROR:+"$MIRROR"} >/dev/null

CERT=$(ca_bundle)
if [ -n "$CERT" ]; then
  log "copying CA bundle $CERT"
  mkdir -p "$ROOT$(dirname "$CERT")"
  cp "$CERT" "$ROOT$CERT"
  # pip vendors its own CA list; point it at the copied bundle, as here.
  printf '[global]\ncert = %s\n' "$CERT" > "$ROOT/etc/pip.conf"
fi
# Keep the image small, like the slim images: no package lists or caches.
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb

log "importing as $TAG"
tar -C "$ROOT" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' \
  -c 'CMD ["python3"]' - "$TAG" >/dev/null
log "done: $(docker image inspect --format '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1 / 1e6}')"
