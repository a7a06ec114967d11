#!/usr/bin/env bash
# The local stack without Docker: a KRaft Kafka broker from Maven Central's jars on the JDK,
# and a PostgreSQL server from the machine's binaries, both on loopback, data under $FALCORIA_STACK_DIR.
#   stack.sh fetch | start [--cluster] | stop | status | kill-broker N | stop-broker N | start-broker N
# start is idempotent; stop is clean (SIGTERM, then waits); logs go to $FALCORIA_LOG_DIR.
# --cluster (or FALCORIA_KAFKA_BROKERS_COUNT=3) starts a KRaft cluster of combined broker+controller
# nodes instead of one broker; the stack dir remembers it, so later commands need no flag.
set -euo pipefail
for arg in "$@"; do
  if [ "$arg" = --cluster ] && [ "${FALCORIA_KAFKA_BROKERS_COUNT:-1}" -lt 2 ]; then export FALCORIA_KAFKA_BROKERS_COUNT=3; fi
done
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

# Common broker settings; $1 is the number of nodes (replication of the internal topics follows it).
kafka_common_props() {
  local rf=1 isr=1
  if [ "$1" -ge 3 ]; then rf=3; isr=2; elif [ "$1" -eq 2 ]; then rf=2; fi
  cat <<PROPS
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
num.partitions=6
default.replication.factor=$rf
min.insync.replicas=$isr
unclean.leader.election.enable=false
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=6
# An import is one transaction; LEDGER_IMPORT_TRANSACTION_TIMEOUT_MS may be raised up to this for huge reports.
transaction.max.timeout.ms=3600000
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=-1
message.max.bytes=10485760
PROPS
}

# Formats a node's storage once, with cluster id $4.  kafka_node_format name props logdir id
kafka_node_format() {
  local data; data="$(sed -n 's/^log.dirs=//p' "$2")"
  [ -f "$data/meta.properties" ] && return 0
  mkdir -p "$3"
  "$JAVA" -cp "$KAFKA_HOME/libs/*" kafka.tools.StorageTool format -t "$4" -c "$2" >"$3/$1-format.log" 2>&1 \
    || die "formatting Kafka storage failed (see $3/$1-format.log)"
}

# A cluster id as StorageTool random-uuid makes one (16 random bytes, base64url, never starting with
# "-", which the tool would read as an option), without a JVM start.
new_cluster_id() {
  local id="-"
  while [ "${id#-}" != "$id" ]; do id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"; done
  echo "$id"
}

# Formats a node's storage when new (cluster id $4), then runs it in the background.
#   kafka_node_launch name props pidfile cluster-id port logdir heap
kafka_node_launch() {
  local name="$1" props="$2" pidf="$3" id="$4" port="$5" logdir="$6" heap="$7"
  kafka_node_format "$name" "$props" "$logdir" "$id"
  # shellcheck disable=SC2086
  nohup "$JAVA" $heap -XX:+UseG1GC -Dkafka.logs.dir="$logdir" \
    -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2.yaml" \
    -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$props" >"$logdir/$name.out" 2>&1 &
  echo $! >"$pidf"
}

# Dies unless the broker of pidfile $3 listens on port $2 within $4 s.  wait_broker label port pidfile seconds hint
wait_broker() {
  local rc=0; wait_listening "$2" "$3" "$4" || rc=$?
  [ "$rc" = 2 ] && die "$1 exited before it listened on 127.0.0.1:$2 ($5)"
  [ "$rc" = 0 ] || die "$1 did not open 127.0.0.1:$2 within $4 s ($5)"
}

start_kafka() {
  if [ "$FALCORIA_KAFKA_BROKERS_COUNT" -gt 1 ]; then start_kafka_cluster; return; fi
  local pidf="$FALCORIA_RUN_DIR/kafka.pid"
  if pid_alive "$pidf"; then log "kafka already running (pid $(cat "$pidf")) on 127.0.0.1:$KAFKA_PORT"; return 0; fi
  if [ -n "${FALCORIA_EXTERNAL_KAFKA:-}" ]; then log "using external Kafka at $KAFKA_BROKERS"; return 0; fi
  local f; for f in "$FALCORIA_RUN_DIR"/kafka-*.pid; do
    pid_alive "$f" && die "this stack runs a Kafka cluster ($FALCORIA_KAFKA_CLUSTER_DIR): stop it first (stack.sh stop), or keep using it"
  done
  need_java; fetch_kafka
  port_in_use "$KAFKA_PORT" && die "port $KAFKA_PORT is in use by another process: set KAFKA_PORT, or KAFKA_BROKERS with FALCORIA_EXTERNAL_KAFKA=1 to use that broker"
  port_in_use "$KAFKA_CONTROLLER_PORT" && die "port $KAFKA_CONTROLLER_PORT is in use by another process: set KAFKA_CONTROLLER_PORT"
  mkdir -p "$KAFKA_DATA" "$FALCORIA_LOG_DIR"
  local props="$KAFKA_DATA/server.properties"
  {
    cat <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
log.dirs=$KAFKA_DATA/logs
PROPS
    kafka_common_props 1
  } >"$props"
  local id=""
  if [ ! -f "$KAFKA_DATA/logs/meta.properties" ]; then
    id="$("$JAVA" -cp "$KAFKA_HOME/libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
  fi
  kafka_node_launch kafka "$props" "$pidf" "$id" "$KAFKA_PORT" "$FALCORIA_LOG_DIR" "${KAFKA_HEAP:--Xms256m -Xmx1g}"
  wait_broker kafka "$KAFKA_PORT" "$pidf" 60 "see $FALCORIA_LOG_DIR/kafka.out and kafka.log"
  log "kafka up on 127.0.0.1:$KAFKA_PORT (pid $(cat "$pidf"))"
}

# The cluster's nodes: node N's settings, data and logs under kafka-cluster/node-N and logs/kafka-N.
node_dir() { echo "$FALCORIA_KAFKA_CLUSTER_DIR/node-$1"; }
node_pidf() { echo "$FALCORIA_RUN_DIR/kafka-$1.pid"; }
node_logdir() { echo "$FALCORIA_LOG_DIR/kafka-$1"; }
cluster_nodes() { seq 1 "$FALCORIA_KAFKA_BROKERS_COUNT"; }
check_node() { # N
  case "${1:-}" in ''|*[!0-9]*) die "usage: stack.sh kill-broker|stop-broker|start-broker N (N = 1..$FALCORIA_KAFKA_BROKERS_COUNT)" ;; esac
  [ -f "$FALCORIA_KAFKA_CLUSTER_DIR/nodes" ] || die "no Kafka cluster in $FALCORIA_STACK_DIR: start one with stack.sh start --cluster"
  { [ "$1" -ge 1 ] && [ "$1" -le "$FALCORIA_KAFKA_BROKERS_COUNT" ]; } || die "node $1 does not exist: this cluster has nodes 1..$FALCORIA_KAFKA_BROKERS_COUNT"
}

write_node_props() { # N
  local n="$1" voters="" m
  for m in $(cluster_nodes); do voters="${voters:+$voters,}$m@127.0.0.1:$(kafka_controller_port_of "$m")"; done
  mkdir -p "$(node_dir "$n")"
  {
    cat <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(kafka_port_of "$n"),CONTROLLER://127.0.0.1:$(kafka_controller_port_of "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(kafka_port_of "$n")
log.dirs=$(node_dir "$n")/logs
PROPS
    kafka_common_props "$FALCORIA_KAFKA_BROKERS_COUNT"
  } >"$(node_dir "$n")/server.properties"
}

# Starts node N; does not wait.
launch_node() { # N
  local n="$1" port ctl
  port="$(kafka_port_of "$n")"; ctl="$(kafka_controller_port_of "$n")"
  port_in_use "$port" && die "port $port (node $n) is in use by another process: set KAFKA_PORT (node N listens on KAFKA_PORT+2(N-1))"
  port_in_use "$ctl" && die "port $ctl (node $n's controller) is in use by another process: set KAFKA_CONTROLLER_PORT"
  write_node_props "$n"
  kafka_node_launch "kafka-$n" "$(node_dir "$n")/server.properties" "$(node_pidf "$n")" "$(cat "$FALCORIA_KAFKA_CLUSTER_DIR/cluster.id")" \
    "$port" "$(node_logdir "$n")" "${KAFKA_HEAP:--Xms128m -Xmx384m}"
}

wait_node() { # N
  local n="$1" port; port="$(kafka_port_of "$n")"
  # Three JVMs starting at once on a small, busy machine can take a while.
  wait_broker "kafka node $n" "$port" "$(node_pidf "$n")" "${KAFKA_START_SECONDS:-150}" \
    "see $(node_logdir "$n")/kafka-$n.out and kafka.log; KAFKA_START_SECONDS waits longer"
  log "kafka node $n up on 127.0.0.1:$port (pid $(cat "$(node_pidf "$n")"))"
}

start_kafka_cluster() {
  if [ -n "${FALCORIA_EXTERNAL_KAFKA:-}" ]; then log "using external Kafka at $KAFKA_BROKERS"; return 0; fi
  pid_alive "$FALCORIA_RUN_DIR/kafka.pid" && die "this stack runs a single Kafka broker: stop it first (stack.sh stop) to start a cluster"
  local count="$FALCORIA_KAFKA_BROKERS_COUNT" ports="" n
  if [ -f "$FALCORIA_KAFKA_CLUSTER_DIR/nodes" ] && [ "$(cat "$FALCORIA_KAFKA_CLUSTER_DIR/nodes")" != "$count" ]; then
    die "$FALCORIA_KAFKA_CLUSTER_DIR holds a cluster of $(cat "$FALCORIA_KAFKA_CLUSTER_DIR/nodes") nodes, not $count: set FALCORIA_KAFKA_BROKERS_COUNT to that, or remove the folder"
  fi
  for n in $(cluster_nodes); do ports="$ports $(kafka_port_of "$n") $(kafka_controller_port_of "$n")"; done
  # shellcheck disable=SC2086
  [ "$(printf '%s\n' $ports | sort -u | wc -l)" -eq $((2 * count)) ] \
    || die "broker and controller ports overlap ($ports): node N uses KAFKA_PORT+2(N-1) and KAFKA_CONTROLLER_PORT+2(N-1); set them further apart"
  need_java; fetch_kafka
  mkdir -p "$FALCORIA_KAFKA_CLUSTER_DIR"
  if [ ! -f "$FALCORIA_KAFKA_CLUSTER_DIR/cluster.id" ]; then
    new_cluster_id >"$FALCORIA_KAFKA_CLUSTER_DIR/cluster.id"
    echo "$count" >"$FALCORIA_KAFKA_CLUSTER_DIR/nodes"
  fi
  local started="" formats=""
  for n in $(cluster_nodes); do
    if pid_alive "$(node_pidf "$n")"; then log "kafka node $n already running (pid $(cat "$(node_pidf "$n")")) on 127.0.0.1:$(kafka_port_of "$n")"; continue; fi
    started="$started $n"
  done
  # Formatting starts a JVM per node: do them side by side.
  for n in $started; do
    write_node_props "$n"
    kafka_node_format "kafka-$n" "$(node_dir "$n")/server.properties" "$(node_logdir "$n")" "$(cat "$FALCORIA_KAFKA_CLUSTER_DIR/cluster.id")" &
    formats="$formats $!"
  done
  for n in $formats; do wait "$n" || die "formatting Kafka storage failed (see $FALCORIA_LOG_DIR/kafka-*/kafka-*-format.log)"; done
  for n in $started; do launch_node "$n"; done
  for n in $started; do wait_node "$n"; done
  log "kafka cluster of $count nodes: $KAFKA_BROKERS"
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
  if [ -n "${FALCORIA_EXTERNAL_PG:-}" ]; then log "using external PostgreSQL at $(shown_database_url)"; return 0; fi
  local bin; bin="$(pg_bin)"
  if [ -f "$PG_DATA/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    log "postgres already running on 127.0.0.1:$PG_PORT"; ensure_app_db "$bin"; return 0
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
  ensure_app_db "$bin"
  log "postgres up on 127.0.0.1:$PG_PORT (database $(app_db_name), role $PG_APP_USER)"
}

app_db_name() { local db="${DATABASE_URL##*/}"; echo "${db%%\?*}"; }

# The database, and the role the apps connect as: it logs in with a generated password, owns the
# schemas it creates in that one database and nothing else (not a superuser, cannot create
# databases or roles). The stack itself administers the server as the postgres superuser.
ensure_app_db() { # pg-bin
  local bin="$1" db; db="$(app_db_name)"
  local psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres)
  if ! "${psql[@]}" -tAc "select 1 from pg_database where datname='$db'" postgres | grep -q 1; then
    "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$db"
  fi
  if [ ! -s "$FALCORIA_PG_APP_PASSWORD_FILE" ]; then
    (umask 077; head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$FALCORIA_PG_APP_PASSWORD_FILE")
  fi
  # Schemas (and their tables, views, sequences, functions, types) the apps created as postgres
  # before this role existed become the role's, so its migrations can alter them.
  # (psql reads the password from the file itself: it never shows on a command line.)
  "${psql[@]}" -d "$db" -v user="$PG_APP_USER" -v pwfile="$FALCORIA_PG_APP_PASSWORD_FILE" -v db="$db" >/dev/null <<'SQL' || die "could not set up the role $PG_APP_USER in database $db (see the error above)"
\set pw `cat :'pwfile'`
select format('create role %I', :'user') where not exists (select 1 from pg_roles where rolname = :'user') \gexec
alter role :"user" with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls password :'pw';
grant connect, create, temporary on database :"db" to :"user";
create temp table app_schemas as
  select oid, nspname, pg_get_userbyid(nspowner) as owner from pg_namespace
   where nspname !~ '^pg_' and nspname not in ('public', 'information_schema');
select format('alter schema %I owner to %I', nspname, :'user') from app_schemas where owner = 'postgres' \gexec
select format('alter %s %s owner to %I', case c.relkind when 'v' then 'view' when 'm' then 'materialized view' when 'S' then 'sequence' when 'f' then 'foreign table' else 'table' end, c.oid::regclass, :'user')
  from pg_class c join app_schemas s on s.oid = c.relnamespace
 where pg_get_userbyid(c.relowner) = 'postgres' and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
   and not (c.relkind = 'S' and exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i'))) \gexec
select format('alter routine %s owner to %I', p.oid::regprocedure, :'user')
  from pg_proc p join app_schemas s on s.oid = p.pronamespace where pg_get_userbyid(p.proowner) = 'postgres' \gexec
select format('alter type %s owner to %I', t.oid::regtype, :'user')
  from pg_type t join app_schemas s on s.oid = t.typnamespace
 where pg_get_userbyid(t.typowner) = 'postgres' and t.typtype in ('e', 'd', 'r', 'm') \gexec
SQL
  ensure_pg_hba "$bin"
}

# Passwords count for every role but the superuser, which stays trusted on loopback for the stack
# scripts and the tests (they create a database per test file).
ensure_pg_hba() { # pg-bin
  local hba="$PG_DATA/pg_hba.conf"
  grep -q '^# falcoria: managed by scripts/stack.sh' "$hba" 2>/dev/null && return 0
  cat >"$hba" <<'HBA'
# falcoria: managed by scripts/stack.sh
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       all                      trust
host    all       postgres  127.0.0.1/32   trust
host    all       all       127.0.0.1/32   scram-sha-256
HBA
  "$1/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc 'select pg_reload_conf()' postgres >/dev/null
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

# A cluster's nodes get SIGTERM together: stopped one by one, the last ones would wait for a
# controller quorum that is already gone.
stop_cluster() {
  local f pids="" i=0
  for f in "$FALCORIA_RUN_DIR"/kafka-*.pid; do pid_alive "$f" && { kill -TERM "$(cat "$f")" 2>/dev/null || true; pids="$pids $f"; }; done
  for f in $pids; do
    while kill -0 "$(cat "$f")" 2>/dev/null; do
      i=$((i + 1))
      if [ "$i" -gt 600 ]; then log "$(basename "$f" .pid) did not stop in 60 s: SIGKILL"; kill -KILL "$(cat "$f")" 2>/dev/null || true; break; fi
      sleep 0.1
    done
    log "kafka node $(basename "$f" .pid | sed 's/^kafka-//') stopped"
  done
  rm -f "$FALCORIA_RUN_DIR"/kafka-*.pid
}

# kill-broker N: SIGKILL, as a crash would; stop-broker N: a clean shutdown.
stop_node() { # N signal
  check_node "$1"
  local f; f="$(node_pidf "$1")"
  pid_alive "$f" || { rm -f "$f"; log "kafka node $1 is not running"; return 0; }
  if [ "$2" = KILL ]; then
    local pid; pid="$(cat "$f")"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    rm -f "$f"; log "kafka node $1 killed"
  else
    stop_pidfile "kafka node $1" "$f" 60
  fi
}

start_node() { # N
  check_node "$1"
  if pid_alive "$(node_pidf "$1")"; then log "kafka node $1 already running (pid $(cat "$(node_pidf "$1")"))"; return 0; fi
  need_java; fetch_kafka
  launch_node "$1"; wait_node "$1"
}

stop_all() {
  local f
  for f in "$FALCORIA_RUN_DIR"/app-*.pid; do [ -e "$f" ] && stop_pidfile "$(basename "$f" .pid)" "$f" 20; done
  stop_pidfile kafka "$FALCORIA_RUN_DIR/kafka.pid" 60
  stop_cluster
  if [ -z "${FALCORIA_EXTERNAL_PG:-}" ] && [ -f "$PG_DATA/postmaster.pid" ]; then
    as_pg "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 && log "postgres stopped" || true
  fi
}

status() {
  if [ "$FALCORIA_KAFKA_BROKERS_COUNT" -gt 1 ]; then
    local n; for n in $(cluster_nodes); do
      pid_alive "$(node_pidf "$n")" && echo "kafka-$n   running  127.0.0.1:$(kafka_port_of "$n") (pid $(cat "$(node_pidf "$n")"))" || echo "kafka-$n   stopped"
    done
  else
    pid_alive "$FALCORIA_RUN_DIR/kafka.pid" && echo "kafka     running  127.0.0.1:$KAFKA_PORT" || echo "kafka     stopped"
  fi
  [ -f "$PG_DATA/postmaster.pid" ] && echo "postgres  running  127.0.0.1:$PG_PORT" || echo "postgres  stopped"
  local f; for f in "$FALCORIA_RUN_DIR"/app-*.pid; do [ -e "$f" ] || continue
    pid_alive "$f" && echo "$(basename "$f" .pid | sed 's/^app-//')  running (pid $(cat "$f"))" || echo "$(basename "$f" .pid) dead"; done
}

mkdir -p "$FALCORIA_RUN_DIR" "$FALCORIA_LOG_DIR"
case "${1:-}" in
  fetch) need_java; fetch_kafka ;;
  start)
    # Check everything before starting anything, so a missing piece leaves nothing half-started.
    if [ -z "${FALCORIA_EXTERNAL_KAFKA:-}" ]; then
      if [ "$FALCORIA_KAFKA_BROKERS_COUNT" -gt 1 ]; then
        pid_alive "$FALCORIA_RUN_DIR/kafka.pid" && die "this stack runs a single Kafka broker: stop it first (stack.sh stop) to start a cluster"
        need_java
        for n in $(cluster_nodes); do
          pid_alive "$(node_pidf "$n")" && continue
          port_in_use "$(kafka_port_of "$n")" && die "port $(kafka_port_of "$n") (node $n) is in use by another process: set KAFKA_PORT (node N listens on KAFKA_PORT+2(N-1)), or KAFKA_BROKERS with FALCORIA_EXTERNAL_KAFKA=1 to use those brokers"
        done
      elif ! pid_alive "$FALCORIA_RUN_DIR/kafka.pid"; then
        need_java
        port_in_use "$KAFKA_PORT" && die "port $KAFKA_PORT is in use by another process: set KAFKA_PORT, or KAFKA_BROKERS with FALCORIA_EXTERNAL_KAFKA=1 to use that broker"
      fi
    fi
    [ -z "${FALCORIA_EXTERNAL_PG:-}" ] && pg_bin >/dev/null
    start_pg; start_kafka ;;
  stop) stop_all ;;
  status) status ;;
  kill-broker) stop_node "${2:-}" KILL ;;
  stop-broker) stop_node "${2:-}" TERM ;;
  start-broker) start_node "${2:-}" ;;
  *) echo "usage: $0 fetch | start [--cluster] | stop | status | kill-broker N | stop-broker N | start-broker N" >&2; exit 2 ;;
esac
