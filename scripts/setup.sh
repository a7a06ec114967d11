#!/usr/bin/env bash
# One-time (idempotent) set-up: Node 24, npm packages, Kafka jars, nmap, PostgreSQL binaries, build.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$ROOT"

ensure_node
if [ ! -d node_modules/.bin ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  # npm 11 can write a lock file that `npm ci` then calls out of sync (optional per-platform packages
  # such as @swc/core-darwin-arm64 missing); `npm install` honours the same lock in that case.
  npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1 \
    || npm install --no-audit --no-fund --loglevel=error >/dev/null \
    || die "installing npm packages failed"
fi
# npm runs it after installing; here too for node_modules installed before the patch existed.
node scripts/patch-kafkajs.mjs

bash scripts/stack.sh fetch

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing $* from Debian"
    [ -f "$FALCORIA_CACHE_DIR/.apt-updated" ] || { apt-get update -qq >/dev/null && mkdir -p "$FALCORIA_CACHE_DIR" && touch "$FALCORIA_CACHE_DIR/.apt-updated"; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
  else
    die "$1 is missing: install it (Debian/Ubuntu: apt-get install $*; macOS: brew install $1)"
  fi
}
command -v nmap >/dev/null || apt_install nmap
command -v nft >/dev/null || { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt_install nftables || true; }
if [ -z "${FALCORIA_EXTERNAL_PG:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  apt_install postgresql
fi

# `setup.sh --test` (what npm test runs) also brings the tools that read the nmap XML export back:
# nmap's own ndiff, xmllint against nmap's DTD, and python-libnmap in a project-local venv.
if [ "${1:-}" = --test ]; then
  command -v ndiff >/dev/null || apt_install ndiff
  command -v xmllint >/dev/null || apt_install libxml2-utils
  PYENV_DIR="$FALCORIA_CACHE_DIR/pyenv" LIBNMAP_VERSION=0.7.3
  if ! "$PYENV_DIR/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('python-libnmap') != '$LIBNMAP_VERSION')" 2>/dev/null; then
    command -v python3 >/dev/null || apt_install python3
    python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
    log "installing python-libnmap $LIBNMAP_VERSION into $PYENV_DIR"
    rm -rf "$PYENV_DIR"
    python3 -m venv "$PYENV_DIR" || die "python3 -m venv $PYENV_DIR failed"
    "$PYENV_DIR/bin/python" -m pip install -q --disable-pip-version-check "python-libnmap==$LIBNMAP_VERSION" \
      || die "pip install python-libnmap==$LIBNMAP_VERSION failed (PyPI unreachable?): the export read-back test needs it"
  fi
fi

log "building"
npm run -s build >/dev/null || die "build failed"
