#!/usr/bin/env bash
# Installs the eBPF build tools from Debian (clang, llvm, libbpf-dev, bpftool, pahole from
# dwarves, libelf-dev, zlib) when they are missing, and builds the hangar probe
# (bpf/probe) into bpf/probe/build (git-ignored). Idempotent: a second run installs nothing
# and `make` rebuilds only what changed.
#
# Usage: bash scripts/setup-bpf-tools.sh [--no-build]
#
# Progress goes to stderr; stdout carries only PROBE_LOADER=/path when the build succeeded.
# The build needs a kernel with BTF (/sys/kernel/btf/vmlinux); without it the tools are
# still installed and the script says why it did not build (exit 0: the probe tests then
# report themselves skipped with that reason).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '[setup-bpf-tools %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

build=1
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) log "unknown argument: $a"; exit 2 ;;
  esac
done

need=()
command -v clang >/dev/null || need+=(clang)
command -v llvm-strip >/dev/null || need+=(llvm)
command -v bpftool >/dev/null || need+=(bpftool)
command -v pahole >/dev/null || need+=(dwarves)
[ -f /usr/include/bpf/libbpf.h ] || need+=(libbpf-dev)
[ -f /usr/include/libelf.h ] || need+=(libelf-dev)
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
command -v make >/dev/null || need+=(make)
command -v cc >/dev/null || need+=(gcc)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v ip >/dev/null || need+=(iproute2)
command -v nsenter >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing ${need[*]} and not root: install them with apt-get as root"
    exit 1
  fi
  log "installing ${need[*]}"
  # Other apt users may hold the lock for a while (CI installs several things).
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >&2
fi

[ "$build" -eq 1 ] || exit 0
if [ ! -r /sys/kernel/btf/vmlinux ]; then
  log "not building the probe: /sys/kernel/btf/vmlinux is missing (kernel without BTF)"
  exit 0
fi
log "building bpf/probe"
make -s -C "$repo_root/bpf/probe" >&2
echo "PROBE_LOADER=$repo_root/bpf/probe/build/hangar-probe"
