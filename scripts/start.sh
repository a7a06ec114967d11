#!/usr/bin/env bash
# npm start: set-up, the local stack, then tasker + one worker + ledger projector in the background.
# Idempotent: what is already running is left alone. `npm stop` stops everything.
# `npm start -- --cluster`: a three-broker Kafka cluster instead of one broker (see stack.sh).
set -euo pipefail
for arg in "$@"; do
  if [ "$arg" = --cluster ] && [ "${FALCORIA_KAFKA_BROKERS_COUNT:-1}" -lt 2 ]; then export FALCORIA_KAFKA_BROKERS_COUNT=3; fi
done
. "$(dirname "$0")/env.sh"
cd "$ROOT"

bash scripts/setup.sh
ensure_node
bash scripts/stack.sh start
# Again: the stack has now made the apps' database role (DATABASE_URL switches to it).
. scripts/env.sh

start_app() { # name entry port-var port [node flags...]
  local name="$1" entry="$2" pidf="$FALCORIA_RUN_DIR/app-$1.pid"
  if pid_alive "$pidf"; then log "$name already running (pid $(cat "$pidf"))"; return 0; fi
  port_in_use "$4" && die "port $4 for $name is in use by another process: set $3"
  # shellcheck disable=SC2068
  nohup node --disable-warning=TimeoutNegativeWarning ${@:5} "$entry" >>"$FALCORIA_LOG_DIR/$name.log" 2>&1 &
  echo $! >"$pidf"
}

wait_ready() { # name url
  local i=0
  until curl -sf "$2" >/dev/null 2>&1; do
    i=$((i + 1))
    pid_alive "$FALCORIA_RUN_DIR/app-$1.pid" || die "$1 exited during start-up; last log lines:
$(tail -n 15 "$FALCORIA_LOG_DIR/$1.log")"
    [ "$i" -gt 600 ] && die "$1 not ready after 60 s (see $FALCORIA_LOG_DIR/$1.log)"
    sleep 0.1
  done
}

# The ledger's memory settings (README, "Memory of the ledger"): without them its RSS reaches
# ~600 MB during a big import although its live heap stays under ~100 MB.
# shellcheck disable=SC2086
MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}" \
  start_app ledger dist/apps/ledger-projector/src/main.js LEDGER_PORT "$LEDGER_PORT" ${LEDGER_NODE_FLAGS---max-semi-space-size=16 --heap-growing-percent=50 --initial-old-space-size=64 --expose-gc}
start_app tasker dist/apps/tasker/src/main.js TASKER_PORT "$TASKER_PORT"
export WORKER_PORT="${WORKER_PORT:-8082}"
start_app worker dist/apps/worker/src/main.js WORKER_PORT "$WORKER_PORT"
wait_ready ledger "http://127.0.0.1:$LEDGER_PORT/ready"
wait_ready tasker "http://127.0.0.1:$TASKER_PORT/ready"
wait_ready worker "http://127.0.0.1:$WORKER_PORT/ready"

TOKEN_LINE=""
if [ -f dist/apps/ledger-projector/src/admin.js ]; then
  TOKEN_LINE="$(node --disable-warning=TimeoutNegativeWarning dist/apps/ledger-projector/src/admin.js bootstrap 2>>"$FALCORIA_LOG_DIR/admin.log" || true)"
fi

cat <<INFO

Falcoria is up.
  ledger API   http://127.0.0.1:$LEDGER_PORT   (OpenAPI: /docs)
  tasker API   http://127.0.0.1:$TASKER_PORT   (OpenAPI: /docs)
  worker       http://127.0.0.1:$WORKER_PORT/ready
  Kafka        $KAFKA_BROKERS
  PostgreSQL   $(shown_database_url)
  logs         $FALCORIA_LOG_DIR
${TOKEN_LINE:+$TOKEN_LINE
}Stop everything with: npm stop
INFO
