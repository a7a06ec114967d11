# Shared settings for the stack scripts. Every value can be overridden from the environment.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FALCORIA_STACK_DIR="${FALCORIA_STACK_DIR:-$ROOT/.stack}"
export FALCORIA_CACHE_DIR="${FALCORIA_CACHE_DIR:-$ROOT/.cache}"
export KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
export KAFKA_PORT="${KAFKA_PORT:-19092}"
export KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
export PG_PORT="${PG_PORT:-15432}"
export TASKER_PORT="${TASKER_PORT:-8080}"
export LEDGER_PORT="${LEDGER_PORT:-8081}"
export FALCORIA_LOG_DIR="${FALCORIA_LOG_DIR:-$FALCORIA_STACK_DIR/logs}"
export FALCORIA_RUN_DIR="$FALCORIA_STACK_DIR/run"
# Brokers of the local stack: one, or a KRaft cluster (stack.sh start --cluster) that the stack dir
# remembers. Node N listens on KAFKA_PORT+2(N-1) and its controller on KAFKA_CONTROLLER_PORT+2(N-1).
FALCORIA_KAFKA_CLUSTER_DIR="$FALCORIA_STACK_DIR/kafka-cluster"
if [ -z "${FALCORIA_KAFKA_BROKERS_COUNT:-}" ] && [ -f "$FALCORIA_KAFKA_CLUSTER_DIR/nodes" ]; then
  FALCORIA_KAFKA_BROKERS_COUNT="$(cat "$FALCORIA_KAFKA_CLUSTER_DIR/nodes")"
fi
export FALCORIA_KAFKA_BROKERS_COUNT="${FALCORIA_KAFKA_BROKERS_COUNT:-1}"
case "$FALCORIA_KAFKA_BROKERS_COUNT" in [1-9]) ;; *) printf '[falcoria] error: FALCORIA_KAFKA_BROKERS_COUNT must be 1-9, not "%s"\n' "$FALCORIA_KAFKA_BROKERS_COUNT" >&2; exit 1 ;; esac
kafka_port_of() { echo $((KAFKA_PORT + 2 * ($1 - 1))); }
kafka_controller_port_of() { echo $((KAFKA_CONTROLLER_PORT + 2 * ($1 - 1))); }
local_kafka_brokers() {
  local n list=""
  for n in $(seq 1 "$FALCORIA_KAFKA_BROKERS_COUNT"); do list="${list:+$list,}127.0.0.1:$(kafka_port_of "$n")"; done
  echo "$list"
}
# A user's own services win over the local stack.
export KAFKA_BROKERS="${KAFKA_BROKERS:-$(local_kafka_brokers)}"
# The apps reach the local PostgreSQL as a least-privilege role that stack.sh start creates (password
# in the stack dir); until it exists, and for the stack's own chores, as the postgres superuser.
export PG_APP_USER="${PG_APP_USER:-falcoria_app}"
export FALCORIA_PG_APP_PASSWORD_FILE="$FALCORIA_STACK_DIR/app-db.password"
if [ -z "${DATABASE_URL:-}" ] || [ -n "${FALCORIA_LOCAL_DATABASE_URL:-}" ]; then
  export FALCORIA_LOCAL_DATABASE_URL=1
  if [ -z "${FALCORIA_EXTERNAL_PG:-}" ] && [ -s "$FALCORIA_PG_APP_PASSWORD_FILE" ]; then
    DATABASE_URL="postgres://$PG_APP_USER:$(cat "$FALCORIA_PG_APP_PASSWORD_FILE")@127.0.0.1:$PG_PORT/falcoria"
  else
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/falcoria"
  fi
fi
export DATABASE_URL
# DATABASE_URL without its password, for messages.
shown_database_url() { printf '%s' "$DATABASE_URL" | sed -E 's#^(postgres(ql)?://[^:/@]+):[^@]*@#\1:***@#'; }

log() { printf '[falcoria] %s\n' "$*" >&2; }
die() { printf '[falcoria] error: %s\n' "$*" >&2; exit 1; }

# Node 24 is the target; the machine's node may be older, so bring one from the npm registry.
ensure_node() {
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$major" -ge 24 ] 2>/dev/null; then return 0; fi
  local bin="$FALCORIA_CACHE_DIR/node24/node_modules/node/bin"
  if [ ! -x "$bin/node" ]; then
    command -v npm >/dev/null || die "npm is required to fetch Node 24 (install Node.js and npm first)"
    log "fetching Node 24 from the npm registry into $FALCORIA_CACHE_DIR/node24"
    npm install --prefix "$FALCORIA_CACHE_DIR/node24" --no-save --no-audit --no-fund --loglevel=error node@24 >/dev/null \
      || die "could not install Node 24 from the npm registry"
  fi
  export PATH="$bin:$PATH"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits until the process of pidfile $2 listens on port $1. Returns 2 when that process exits first:
# a listener some other process opened on the port meanwhile does not count (without ss, any does).
wait_listening() { # port pidfile seconds
  local i=0 pid; pid="$(cat "$2")"
  while kill -0 "$pid" 2>/dev/null; do
    if command -v ss >/dev/null; then
      ss -Htlnp "sport = :$1" 2>/dev/null | grep -q "pid=$pid," && return 0
    else
      port_in_use "$1" && return 0
    fi
    i=$((i + 1)); [ "$i" -gt $(($3 * 10)) ] && return 1; sleep 0.1
  done
  return 2
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
