#!/usr/bin/env bash
# Builds the container images of the end-to-end test on a machine without a Docker daemon and
# without an image registry, with buildah (as root), and writes each one as a docker-archive
# that `ctr -n k8s.io images import` loads into the test node's containerd:
#
#   localhost/hangar-base/debian:bookworm-slim       Debian bookworm minbase (mmdebstrap)
#   localhost/hangar-base/node:<NODE>-bookworm-slim  that + the Node binary of the npm package
#                                                    `node` (the devDependency) + npm from the
#                                                    npm registry: the stand-in for the public
#                                                    node:<NODE>-bookworm-slim
#   localhost/hangar-base/pause:3.10                 the pod sandbox (scripts/images/pause.c, static)
#   localhost/hangar-base/coredns:<COREDNS>          the cluster DNS (scripts/setup-node-tools.sh)
#   ghcr.io/mcp-hangar/hangar-agent:<appVersion>     agent/Dockerfile      } the chart's images and
#   ghcr.io/mcp-hangar/hangar-controller:<appVersion> controller/Dockerfile } tags (appVersion of
#                                                    helm/hangar-agent/Chart.yaml); the controller
#                                                    image also runs the sample MCP server
#
# The product images come from the repository's Dockerfiles unchanged, with their base images
# passed as build arguments (NODE_IMAGE, DEBIAN_IMAGE; their defaults stay the public
# node:…-slim and debian:…-slim for everyone else's builds).
#
# Caching, by content: a base image is rebuilt only when its recipe changes (a sha256 key of
# the inputs, kept as an image label and as an OCI archive under ${HANGAR_CACHE}/images/); a
# product image is not rebuilt while a sha256 of its context (every file git does not ignore,
# the Dockerfile, the build arguments, the base images) is unchanged, and otherwise uses
# buildah's layer cache (`--layers`: each step is reused while its inputs are unchanged); an
# archive is written once per image ID (${HANGAR_CACHE}/images/<name>-<id>.tar), and older ones
# of the same name are removed.
#
# Usage: bash scripts/build-images.sh [--only base|product] [--no-export]
# Progress goes to stderr; stdout carries one `<image> <archive>` line per image, also written
# to ${HANGAR_CACHE}/images/node-images.txt.
#
# Needs: root, buildah, mmdebstrap, gcc with a static libc (scripts/setup-node-tools.sh installs
# them), `npm ci` done (the Node binary), the CoreDNS binary (setup-node-tools.sh), and network
# access to the Debian mirror and the npm registry (the Dockerfiles' `apt-get` and `npm ci`).
# Behind a TLS-intercepting proxy, the CA file in HANGAR_BUILD_CA_FILE (default:
# $NODE_EXTRA_CA_CERTS when set) is copied into the local node base image and named by
# NODE_EXTRA_CA_CERTS there, so `npm ci` inside the builds trusts it; images built from the public
# base never carry it.
#
# Environment: HANGAR_CACHE, HANGAR_DEBIAN_MIRROR (http://deb.debian.org/debian),
# HANGAR_NPM_VERSION (npm in the node base image), HANGAR_BUILD_CA_FILE.
set -euo pipefail

SETUP_NAME=build-images
# shellcheck source=scripts/lib/go-tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-tools.sh"

only=all
export_archives=1
while (($#)); do
  case "$1" in
    --only)
      only="${2:-}"
      [[ "$only" == base || "$only" == product ]] || die "--only takes base or product"
      shift
      ;;
    --no-export) export_archives=0 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

[ "$(id -u)" -eq 0 ] || die "building images with buildah needs root here (rootless buildah needs subuids this machine does not set up)"
missing=()
for t in buildah mmdebstrap gcc sha256sum tar; do command -v "$t" >/dev/null || missing+=("$t"); done
((${#missing[@]} == 0)) || die "missing ${missing[*]}: run bash scripts/setup-node-tools.sh"

case "$(uname -m)" in
  x86_64) node_arch=x64 ;;
  aarch64) node_arch=arm64 ;;
  *) die "unsupported machine $(uname -m)" ;;
esac
# The npm package `node` (the devDependency) installs the official binary of its version as
# node_modules/node/bin/node (from node-linux-<arch>, which npm may prune afterwards).
node_pkg="$repo_root/node_modules/node"
node_bin="$node_pkg/bin/node"
[ -x "$node_bin" ] || node_bin="$node_pkg/node_modules/node-linux-$node_arch/bin/node"
if [ ! -x "$node_bin" ] || ! head -c 4 "$node_bin" | grep -q ELF; then
  die "no Node binary in $node_pkg (bin/node): run npm ci first (the node devDependency ships it)"
fi
NODE_VERSION="$(sed -n 's/^[[:space:]]*"version": "\([^"]*\)".*/\1/p' "$node_pkg/package.json" | head -n1)"
[[ -n "$NODE_VERSION" ]] || die "cannot read the version of $node_pkg/package.json"
[[ "$("$node_bin" --version)" == "v$NODE_VERSION" ]] || die "$node_bin is not Node $NODE_VERSION"
NPM_VERSION="${HANGAR_NPM_VERSION:-11.6.2}"
APP_VERSION="$(sed -n 's/^appVersion:[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' "$repo_root/helm/hangar-agent/Chart.yaml")"
[[ -n "$APP_VERSION" ]] || die "cannot read appVersion from helm/hangar-agent/Chart.yaml"
COREDNS_VERSION="$(read_version COREDNS_VERSION)"
coredns_bin="$cache/bin/coredns-$COREDNS_VERSION/coredns"
mirror="${HANGAR_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
ca_file="${HANGAR_BUILD_CA_FILE:-${NODE_EXTRA_CA_CERTS:-}}"
[[ -z "$ca_file" || -r "$ca_file" ]] || die "HANGAR_BUILD_CA_FILE/NODE_EXTRA_CA_CERTS names $ca_file, which cannot be read"

DEBIAN_IMAGE=localhost/hangar-base/debian:bookworm-slim
NODE_IMAGE="localhost/hangar-base/node:$NODE_VERSION-bookworm-slim"
PAUSE_IMAGE=localhost/hangar-base/pause:3.10
COREDNS_IMAGE="localhost/hangar-base/coredns:$COREDNS_VERSION"
AGENT_IMAGE="ghcr.io/mcp-hangar/hangar-agent:$APP_VERSION"
CONTROLLER_IMAGE="ghcr.io/mcp-hangar/hangar-controller:$APP_VERSION"

img_cache="$cache/images"
mkdir -p "$img_cache"
work="$(mktemp -d "${TMPDIR:-/tmp}/hangar-images.XXXXXX")"
trap 'rm -rf "$work"' EXIT
KEY_LABEL=io.mcp-hangar.recipe-key

sha() { sha256sum | cut -c1-64; }
image_key() { buildah inspect --type image --format "{{index .OCIv1.Config.Labels \"$KEY_LABEL\"}}" "$1" 2>/dev/null || true; }
image_id() { buildah inspect --type image --format '{{.FromImageID}}' "$1"; }

# have_base NAME KEY: true when the image NAME with recipe KEY is in buildah's storage, after
# loading it from the cached OCI archive if needed.
have_base() {
  local name="$1" key="$2" archive="$img_cache/base-${1//[\/:]/_}-${2:0:16}.oci.tar"
  [[ "$(image_key "$name")" == "$key" ]] && return 0
  if [ -f "$archive" ]; then
    log "$name: loading from $archive"
    local id
    id="$(buildah pull --quiet "oci-archive:$archive")" && buildah tag "$id" "$name" &&
      [[ "$(image_key "$name")" == "$key" ]] && return 0
  fi
  return 1
}

# commit_base CONTAINER NAME KEY: commits, tags and keeps an OCI archive of a base image.
commit_base() {
  local c="$1" name="$2" key="$3" archive="$img_cache/base-${2//[\/:]/_}-${3:0:16}.oci.tar"
  buildah config --label "$KEY_LABEL=$key" "$c"
  buildah commit --quiet --rm "$c" "$name" >/dev/null
  rm -f "$img_cache/base-${name//[\/:]/_}-"*.oci.tar
  buildah push --quiet "$name" "oci-archive:$archive.tmp:$name" >/dev/null
  mv -f "$archive.tmp" "$archive"
}

build_debian_base() {
  local key start=$SECONDS c
  local sources=(
    "deb $mirror bookworm main"
    "deb $mirror bookworm-updates main"
    "deb ${mirror%/debian}/debian-security bookworm-security main"
  )
  key="$(printf 'debian-base 1\nminbase\n%s\n' "${sources[@]}" | sha)"
  if have_base "$DEBIAN_IMAGE" "$key"; then
    log "$DEBIAN_IMAGE: cached (recipe $key)"
    return 0
  fi
  log "$DEBIAN_IMAGE: mmdebstrap --variant=minbase bookworm (from $mirror)"
  # $1 is mmdebstrap's (the root directory), not ours.
  # shellcheck disable=SC2016
  local cleanup_hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log'
  # minbase: Essential: yes packages and apt, as in debian:bookworm-slim; no docs, man pages or
  # translations; empty apt lists (the Dockerfiles run apt-get update first).
  mmdebstrap --quiet --variant=minbase --format=tar \
    --aptopt='Acquire::Languages "none"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook="$cleanup_hook" \
    bookworm "$work/debian.tar" "${sources[@]}" >&2
  c="$(buildah from --quiet scratch)"
  buildah add --quiet "$c" "$work/debian.tar" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash "$c"
  commit_base "$c" "$DEBIAN_IMAGE" "$key"
  log "$DEBIAN_IMAGE: built in $((SECONDS - start))s"
  rm -f "$work/debian.tar"
}

build_node_base() {
  local key start=$SECONDS c root="$work/node-root" npm_tgz ca_sum=""
  [[ -z "$ca_file" ]] || ca_sum="$(sha <"$ca_file")"
  key="$(printf 'node-base 1\n%s\n%s\n%s\n%s\n' "$(image_id "$DEBIAN_IMAGE")" "$(sha <"$node_bin")" "$NPM_VERSION" "$ca_sum" | sha)"
  if have_base "$NODE_IMAGE" "$key"; then
    log "$NODE_IMAGE: cached (recipe $key)"
    return 0
  fi
  log "$NODE_IMAGE: Node $NODE_VERSION from $node_bin, npm $NPM_VERSION from the npm registry"
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules"
  install -m 0755 "$node_bin" "$root/usr/local/bin/node"
  npm_tgz="$(cd "$work" && npm pack --silent "npm@$NPM_VERSION")"
  mkdir -p "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$work/$npm_tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  if [[ -n "$ca_file" ]]; then
    mkdir -p "$root/usr/local/share/hangar-build-ca"
    install -m 0644 "$ca_file" "$root/usr/local/share/hangar-build-ca/ca.pem"
  fi
  tar -C "$root" --owner=0 --group=0 -cf "$work/node-root.tar" .
  c="$(buildah from --quiet --pull=never "$DEBIAN_IMAGE")"
  buildah add --quiet "$c" "$work/node-root.tar" / >/dev/null
  buildah config --env "NODE_VERSION=$NODE_VERSION" --cmd node "$c"
  [[ -z "$ca_file" ]] || buildah config --env NODE_EXTRA_CA_CERTS=/usr/local/share/hangar-build-ca/ca.pem "$c"
  commit_base "$c" "$NODE_IMAGE" "$key"
  log "$NODE_IMAGE: built in $((SECONDS - start))s"
}

build_pause() {
  local key start=$SECONDS c src="$repo_root/scripts/images/pause.c"
  key="$(printf 'pause 1\n%s\n%s\n' "$(sha <"$src")" "$(gcc -dumpfullversion)" | sha)"
  if have_base "$PAUSE_IMAGE" "$key"; then
    log "$PAUSE_IMAGE: cached (recipe $key)"
    return 0
  fi
  gcc -O2 -static -Wall -Werror -o "$work/pause" "$src"
  strip "$work/pause" 2>/dev/null || true
  c="$(buildah from --quiet scratch)"
  buildah copy --quiet "$c" "$work/pause" /pause >/dev/null
  buildah config --entrypoint '["/pause"]' --user 65535:65535 "$c"
  commit_base "$c" "$PAUSE_IMAGE" "$key"
  log "$PAUSE_IMAGE: built in $((SECONDS - start))s"
}

build_coredns() {
  local key start=$SECONDS c
  [ -x "$coredns_bin" ] || die "CoreDNS $COREDNS_VERSION is not built ($coredns_bin): run bash scripts/setup-node-tools.sh coredns"
  key="$(printf 'coredns 1\n%s\n' "$(sha <"$coredns_bin")" | sha)"
  if have_base "$COREDNS_IMAGE" "$key"; then
    log "$COREDNS_IMAGE: cached (recipe $key)"
    return 0
  fi
  c="$(buildah from --quiet scratch)"
  buildah copy --quiet "$c" "$coredns_bin" /coredns >/dev/null
  buildah config --entrypoint '["/coredns"]' --user 65532:65532 "$c"
  commit_base "$c" "$COREDNS_IMAGE" "$key"
  log "$COREDNS_IMAGE: built in $((SECONDS - start))s"
}

# context_key DOCKERFILE: a sha256 of what a product build reads: the Dockerfile, the build
# arguments, the base images' ids, and the files of the build context: those git does not
# ignore, less what .dockerignore leaves out by its plain top-level entries (.git*, .ci,
# kind-e2e, docs, *.md, helm/ but helm/package.json, Dockerfiles). A superset of the context:
# a key changes whenever the context does, so a documentation change does not rebuild.
context_key() {
  {
    printf 'product 1\n%s\n%s %s %s\n' "$1" "$NODE_IMAGE" "$DEBIAN_IMAGE" "$APP_VERSION"
    image_id "$NODE_IMAGE"
    image_id "$DEBIAN_IMAGE"
    (cd "$repo_root" && git ls-files -z --cached --others --exclude-standard |
      while IFS= read -r -d '' f; do
        case "$f" in
          .git* | .ci/* | .dockerignore | kind-e2e/* | docs/* | *.md | */Dockerfile) continue ;;
          helm/package.json) ;;
          helm/*) continue ;;
        esac
        [ -f "$f" ] && printf '%s\0' "$f"
      done |
      xargs -0 sha256sum)
  } | sha
}

# build_product NAME DOCKERFILE: the repository's Dockerfile with the local base images. Skipped
# when the image built from the same context key is still in buildah's storage; otherwise
# buildah's layer cache reuses every step whose inputs did not change.
build_product() {
  local name="$1" dockerfile="$2" start=$SECONDS key keyfile
  key="$(context_key "$dockerfile")"
  keyfile="$img_cache/product-${name//[\/:]/_}.key"
  if [ -f "$keyfile" ] && [[ "$(sed -n 1p "$keyfile")" == "$key" ]] &&
    [[ "$(image_id "$name" 2>/dev/null)" == "$(sed -n 2p "$keyfile")" ]]; then
    log "$name: unchanged since its last build (context $(cut -c1-12 <<<"$key")): $(image_id "$name" | cut -c1-12)"
    return 0
  fi
  log "$name: buildah bud -f $dockerfile (layer cache on)"
  nice -n 10 buildah bud --quiet --layers --pull=never --network=host \
    --build-arg "NODE_IMAGE=$NODE_IMAGE" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" \
    --build-arg "VERSION=$APP_VERSION" \
    -f "$repo_root/$dockerfile" -t "$name" "$repo_root" >"$work/bud-${dockerfile%%/*}.log" 2>&1 || {
    tail -n 60 "$work/bud-${dockerfile%%/*}.log" >&2
    die "$name: buildah bud -f $dockerfile failed (the last 60 lines above)"
  }
  printf '%s\n%s\n' "$key" "$(image_id "$name")" >"$keyfile"
  log "$name: $(image_id "$name" | cut -c1-12) in $((SECONDS - start))s"
}

# export_archive NAME: a docker-archive of the image for containerd, once per image ID.
export_archive() {
  local name="$1" id archive base
  id="$(image_id "$name")"
  base="${name//[\/:]/_}"
  archive="$img_cache/$base-${id:0:12}.tar"
  if [ ! -f "$archive" ]; then
    rm -f "$img_cache/$base-"*.tar
    buildah push --quiet "$name" "docker-archive:$archive.tmp:$name" >/dev/null
    mv -f "$archive.tmp" "$archive"
  fi
  printf '%s %s\n' "$name" "$archive"
}

total=$SECONDS
images=()
if [[ "$only" != product ]]; then
  build_debian_base
  build_node_base
  build_pause
  build_coredns
  images+=("$PAUSE_IMAGE" "$COREDNS_IMAGE")
fi
if [[ "$only" != base ]]; then
  [[ "$(image_key "$NODE_IMAGE")" != "" ]] || die "$NODE_IMAGE is missing: run without --only product first"
  build_product "$AGENT_IMAGE" agent/Dockerfile
  build_product "$CONTROLLER_IMAGE" controller/Dockerfile
  images+=("$AGENT_IMAGE" "$CONTROLLER_IMAGE")
fi
if ((export_archives)); then
  list="$img_cache/node-images.txt"
  for name in "${images[@]}"; do export_archive "$name"; done >"$list.tmp"
  mv -f "$list.tmp" "$list"
  cat "$list"
fi
log "done in $((SECONDS - total))s"
