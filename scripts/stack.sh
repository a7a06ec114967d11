#!/usr/bin/env bash
# The local stack without Docker: a KRaft Kafka broker from Maven Central's jars on the JDK,
# and a PostgreSQL server from the machine's binaries, both on loopback, data under $FALCORIA_STACK_DIR.
#   stack.sh fetch | start | stop | status
# start is idempotent; stop is clean (SIGTERM, then waits); logs go to $FALCORIA_LOG_DIR.
set -euo pipefail
. "$(dirname "$0")/env.sh"

KAFKA_HOME="$FALCORIA_CACHE_DIR/kafka-$KAFKA_VERSION"
KAFKA_DATA="$FALCORIA_STACK_DIR/kafka"
PG_DATA="$FALCORIA_STACK_DIR/pg/data"
PG_SOCK="$FALCORIA_STACK_DIR/pg/sock"

JAVA="${JAVA:-java}"
need_java() {
  command -v "$JAVA" >/dev/null || die "no JDK found ($JAVA): Kafka needs Java 17+ (Debian: apt-get install openjdk-17-jre-headless), or set JAVA"
  local v; v="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
  [ "${v:-0}" -ge 17 ] || die "Java $v found; Kafka $KAFKA_VERSION needs Java 17+"
}

fetch_kafka() {
  [ -f "$KAFKA_HOME/libs/kafka_2.13-$KAFKA_VERSION.jar" ] && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed once to fetch the Kafka broker jars (Debian: apt-get install maven)"
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central"
  mkdir -p "$FALCORIA_CACHE_DIR"; rm -rf "$KAFKA_HOME.tmp"
  (cd "$ROOT/scripts/kafka" && mvn -q -B dependency:copy-dependencies -Dkafka.version="$KAFKA_VERSION" \
      -DoutputDirectory="$KAFKA_HOME.tmp/libs" >"$FALCORIA_CACHE_DIR/mvn.log" 2>&1) \
    || die "Maven could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION (see $FALCORIA_CACHE_DIR/mvn.log)"
  mv "$KAFKA_HOME.tmp" "$KAFKA_HOME"
}

start_kafka() {
  local pidf="$FALCORIA_RUN_DIR/kafka.pid"
  if pid_alive "$pidf"; then log "kafka already running (pid $(cat "$pidf")) on 127.0.0.1:$KAFKA_PORT"; return 0; fi
  if [ -n "${FALCORIA_EXTERNAL_KAFKA:-}" ]; then log "using external Kafka at $KAFKA_BROKERS"; return 0; fi
  need_java; fetch_kafka
  port_in_use "$KAFKA_PORT" && die "port $KAFKA_PORT is in use by another process: set KAFKA_PORT, or KAFKA_BROKERS with FALCORIA_EXTERNAL_KAFKA=1 to use that broker"
  port_in_use "$KAFKA_CONTROLLER_PORT" && die "port $KAFKA_CONTROLLER_PORT is in use by another process: set KAFKA_CONTROLLER_PORT"
  mkdir -p "$KAFKA_DATA" "$FALCORIA_LOG_DIR"
  local props="$KAFKA_DATA/server.properties"
  cat >"$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DATA/logs
num.partitions=6
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=-1
message.max.bytes=10485760
PROPS
  if [ ! -f "$KAFKA_DATA/logs/meta.properties" ]; then
    local id; id="$("$JAVA" -cp "$KAFKA_HOME/libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
    "$JAVA" -cp "$KAFKA_HOME/libs/*" kafka.tools.StorageTool format -t "$id" -c "$props" >"$FALCORIA_LOG_DIR/kafka-format.log" 2>&1 \
      || die "formatting Kafka storage failed (see $FALCORIA_LOG_DIR/kafka-format.log)"
  fi
  local heap="${KAFKA_HEAP:--Xms256m -Xmx1g}"
  # shellcheck disable=SC2086
  nohup "$JAVA" $heap -XX:+UseG1GC -Dkafka.logs.dir="$FALCORIA_LOG_DIR" \
    -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2.yaml" \
    -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$props" >"$FALCORIA_LOG_DIR/kafka.out" 2>&1 &
  echo $! >"$pidf"
  wait_port "$KAFKA_PORT" 60 || die "kafka did not open 127.0.0.1:$KAFKA_PORT within 60 s (see $FALCORIA_LOG_DIR/kafka.out and kafka.log)"
  log "kafka up on 127.0.0.1:$KAFKA_PORT (pid $(cat "$pidf"))"
}

pg_bin() {
  local d
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  for d in /usr/lib/postgresql/*/bin /usr/local/opt/postgresql*/bin /opt/homebrew/opt/postgresql*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return; }
  die "no PostgreSQL server binaries found (Debian: apt-get install postgresql; or set DATABASE_URL with FALCORIA_EXTERNAL_PG=1)"
}

# initdb/postgres refuse to run as root: run them as the postgres system user then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_pg() {
  if [ -n "${FALCORIA_EXTERNAL_PG:-}" ]; then log "using external PostgreSQL at $DATABASE_URL"; return 0; fi
  local bin; bin="$(pg_bin)"
  if [ -f "$PG_DATA/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    log "postgres already running on 127.0.0.1:$PG_PORT"; return 0
  fi
  port_in_use "$PG_PORT" && die "port $PG_PORT is in use by another process: set PG_PORT, or DATABASE_URL with FALCORIA_EXTERNAL_PG=1 to use that server"
  mkdir -p "$PG_DATA" "$PG_SOCK" "$FALCORIA_LOG_DIR"
  if [ "$(id -u)" = 0 ]; then chown -R postgres: "$FALCORIA_STACK_DIR/pg"; touch "$FALCORIA_LOG_DIR/postgres.log"; chown postgres: "$FALCORIA_LOG_DIR/postgres.log"; fi
  chmod 700 "$PG_DATA"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$PG_DATA" -A trust -U postgres -E UTF8 >"$FALCORIA_STACK_DIR/pg/initdb.log" 2>&1 \
      || die "initdb failed (see $FALCORIA_STACK_DIR/pg/initdb.log)"
  fi
  as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$FALCORIA_LOG_DIR/postgres.log" -w -t 60 \
    -o "-p $PG_PORT -k $PG_SOCK -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=${PG_FSYNC:-on} -c shared_buffers=256MB" start >/dev/null \
    || die "postgres did not start (see $FALCORIA_LOG_DIR/postgres.log)"
  local db; db="${DATABASE_URL##*/}"; db="${db%%\?*}"
  if ! "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "select 1 from pg_database where datname='$db'" postgres | grep -q 1; then
    "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$db"
  fi
  log "postgres up on 127.0.0.1:$PG_PORT (database $db)"
}

stop_pidfile() { # name pidfile seconds
  local pidf="$2"
  pid_alive "$pidf" || { rm -f "$pidf"; return 0; }
  local pid; pid="$(cat "$pidf")"
  kill -TERM "$pid" 2>/dev/null || true
  local i=0
  while kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -gt $(($3 * 10)) ]; then log "$1 did not stop in $3 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; break; fi
    sleep 0.1
  done
  rm -f "$pidf"; log "$1 stopped"
}

stop_all() {
  local f
  for f in "$FALCORIA_RUN_DIR"/app-*.pid; do [ -e "$f" ] && stop_pidfile "$(basename "$f" .pid)" "$f" 20; done
  stop_pidfile kafka "$FALCORIA_RUN_DIR/kafka.pid" 60
  if [ -z "${FALCORIA_EXTERNAL_PG:-}" ] && [ -f "$PG_DATA/postmaster.pid" ]; then
    as_pg "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 && log "postgres stopped" || true
  fi
}

status() {
  pid_alive "$FALCORIA_RUN_DIR/kafka.pid" && echo "kafka     running  127.0.0.1:$KAFKA_PORT" || echo "kafka     stopped"
  [ -f "$PG_DATA/postmaster.pid" ] && echo "postgres  running  127.0.0.1:$PG_PORT" || echo "postgres  stopped"
  local f; for f in "$FALCORIA_RUN_DIR"/app-*.pid; do [ -e "$f" ] || continue
    pid_alive "$f" && echo "$(basename "$f" .pid | sed 's/^app-//')  running (pid $(cat "$f"))" || echo "$(basename "$f" .pid) dead"; done
}

mkdir -p "$FALCORIA_RUN_DIR" "$FALCORIA_LOG_DIR"
case "${1:-}" in
  fetch) need_java; fetch_kafka ;;
  start)
    # Check everything before starting anything, so a missing piece leaves nothing half-started.
    if ! pid_alive "$FALCORIA_RUN_DIR/kafka.pid" && [ -z "${FALCORIA_EXTERNAL_KAFKA:-}" ]; then
      need_java
      port_in_use "$KAFKA_PORT" && die "port $KAFKA_PORT is in use by another process: set KAFKA_PORT, or KAFKA_BROKERS with FALCORIA_EXTERNAL_KAFKA=1 to use that broker"
    fi
    [ -z "${FALCORIA_EXTERNAL_PG:-}" ] && pg_bin >/dev/null
    start_pg; start_kafka ;;
  stop) stop_all ;;
  status) status ;;
  *) echo "usage: $0 fetch|start|stop|status" >&2; exit 2 ;;
esac
