#!/usr/bin/env bash
# npm run bench:stack — cold and warm start times of the local stack (Kafka + PostgreSQL), on
# scratch ports and folders so a running dev or test stack is untouched.
set -euo pipefail
. "$(dirname "$0")/env.sh"
scratch="$(mktemp -d /tmp/falcoria-bench-stack.XXXX)"
chmod 755 "$scratch"
export FALCORIA_STACK_DIR="$scratch/stack" FALCORIA_CACHE_DIR="$scratch/cache"
export KAFKA_PORT=26092 KAFKA_CONTROLLER_PORT=26093 PG_PORT=26432
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/falcoria" KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
now() { date +%s.%N; }
ready() { # waits for a real broker round trip, not just an open port
  ensure_node
  node -e '
    const { Kafka, logLevel } = require("kafkajs");
    const k = new Kafka({ brokers: [process.env.KAFKA_BROKERS], logLevel: logLevel.NOTHING, retry: { retries: 50, initialRetryTime: 100 } });
    const a = k.admin(); a.connect().then(() => a.createTopics({ topics: [{ topic: "bench-ready", numPartitions: 1 }] })).then(() => a.disconnect()).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });'
}
cd "$ROOT"
trap 'bash scripts/stack.sh stop >/dev/null 2>&1 || true; rm -rf "$scratch"' EXIT
t0=$(now); bash scripts/stack.sh start >/dev/null 2>&1; ready; t1=$(now)
bash scripts/stack.sh stop >/dev/null 2>&1
t2=$(now); bash scripts/stack.sh start >/dev/null 2>&1; ready; t3=$(now)
bash scripts/stack.sh stop >/dev/null 2>&1
rm -rf "$scratch"
printf 'cold start (empty cache: Maven fetch of the Kafka jars, initdb, storage format): %.1f s\n' "$(echo "$t1 - $t0" | bc)"
printf 'warm start (jars cached, data present): %.1f s\n' "$(echo "$t3 - $t2" | bc)"
