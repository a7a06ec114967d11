#!/usr/bin/env bash
# npm test: set-up, a separate test stack (own ports and data dir), lint, typecheck, then every
# jest project (unit, int, e2e) against real Kafka, PostgreSQL and nmap. Ends with "N passed, N failed".
set -uo pipefail
export FALCORIA_STACK_DIR="${FALCORIA_STACK_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.stack-test}"
export KAFKA_PORT="${TEST_KAFKA_PORT:-29092}" KAFKA_CONTROLLER_PORT="${TEST_KAFKA_CONTROLLER_PORT:-29093}" PG_PORT="${TEST_PG_PORT:-25432}"
export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:$PG_PORT/falcoria_test}"
export KAFKA_BROKERS="${TEST_KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}"
. "$(dirname "$0")/env.sh"
cd "$ROOT"

bash scripts/setup.sh --test || exit 1
ensure_node
bash scripts/stack.sh start || exit 1

passed=0; failed=0
check() { # name command...
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); log "$name: ok"; else failed=$((failed + 1)); log "$name: FAILED"; fi
}
check lint npm run -s lint
check typecheck npm run -s typecheck

report="$FALCORIA_STACK_DIR/jest-report.json"
rm -f "$report"
node --experimental-vm-modules --no-warnings node_modules/jest/bin/jest.js --maxWorkers=2 --json --outputFile="$report" "$@"
if [ -f "$report" ]; then
  read -r jp jf < <(node -e 'const r=require(process.argv[1]);const bad=r.testResults.filter(t=>t.status==="failed"&&t.assertionResults.length===0).length;console.log(r.numPassedTests, r.numFailedTests+bad)' "$report")
  passed=$((passed + jp)); failed=$((failed + jf))
else
  failed=$((failed + 1))
fi
[ "${CI:-}" = "true" ] && bash scripts/stack.sh stop >/dev/null 2>&1
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
