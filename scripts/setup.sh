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

log "building"
npm run -s build >/dev/null || die "build failed"
