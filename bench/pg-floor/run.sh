#!/bin/bash
# The floor under the import's write path: PostgreSQL loading the rows of N hosts into the ledger's
# tables with COPY (empty tables; no upsert, no JSON building, no Kafka). docs/benchmarks.md.
# usage: npm run bench:pg-floor -- [hosts]   (a running PostgreSQL at PG_PORT: the dev stack's by default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n=${1:-50000}
port=${PG_PORT:-15432}
db=falcoria_pg_floor
work=$(mktemp -d)
q() { psql -h 127.0.0.1 -p "$port" -U postgres "$@"; }
trap 'rm -rf "$work"; q -d postgres -qc "drop database if exists $db" >/dev/null 2>&1 || true' EXIT
node "$here/gen.mjs" "$n" "$work"
echo "rows for $n hosts: $(du -sm "$work" | cut -f1) MB of TSV"
q -d postgres -qc "drop database if exists $db" -c "create database $db"
sed "s#@DIR@#$work#g" "$here/load.sql" > "$work/load.sql"
t0=$(date +%s%N)
q -d "$db" -q -f "$work/load.sql" 2>&1 | grep -E "^Time|CPU"
t1=$(date +%s%N)
echo "hosts $n: wall $(( (t1 - t0) / 1000000 )) ms; load average $(cut -d' ' -f1-3 /proc/loadavg)"
