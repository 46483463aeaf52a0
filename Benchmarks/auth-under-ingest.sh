#!/usr/bin/env bash
# Latency of authenticated GETs, idle and while `commhub loadtest` saturates
# the supervisor with ingest (closed loop). Needs wrk (apt-get install wrk).
#
#   Benchmarks/auth-under-ingest.sh [COMMHUB_BINARY] [LOAD_SECONDS]
#
# Two requests, each with 4 connections for 8 s:
#   token-only  GET /api/tokens with an agent's token: authenticated, then
#               refused by the access policy (403) — the token check alone.
#   contact     GET /api/contacts/{id}: the token check plus one supervisor query.
# Run it with two binaries (before and after a change) to compare; the
# figures are only comparable on the same machine in the same minute.
set -euo pipefail
BIN=${1:-.build/debug/commhub}
LOAD_SECONDS=${2:-30}
HTTP_PORT=${HTTP_PORT:-18080}
INGEST_PORT=${INGEST_PORT:-17070}
DIR=$(mktemp -d /tmp/commhub-authbench.XXXXXX)
export COMMHUB_ADMIN_TOKEN="chub_bench_admin_$$"
API="http://127.0.0.1:$HTTP_PORT/api"
ADMIN="Authorization: Bearer $COMMHUB_ADMIN_TOKEN"

"$BIN" serve --data "$DIR" --demo --no-gateway --http-port "$HTTP_PORT" --ingest-port "$INGEST_PORT" \
  --sync nosync --log-level error > "$DIR/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" > /dev/null && break; sleep 0.2; done

AGENT_ID=$(curl -s -H "$ADMIN" "$API/contacts" | python3 -c 'import json,sys; print([c["id"] for c in json.load(sys.stdin)["items"] if c["role"]=="agent"][0])')
AGENT_TOKEN=$(curl -s -H "$ADMIN" -X POST "$API/contacts/$AGENT_ID/tokens" -d '{}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

measure() {  # label
  for target in "token-only|$API/tokens" "contact|$API/contacts/$AGENT_ID"; do
    name=${target%%|*}; url=${target#*|}
    wrk -t1 -c4 -d8s --latency -H "Authorization: Bearer $AGENT_TOKEN" "$url" > "$DIR/wrk.txt" || true
    p50=$(awk '$1=="50%"{print $2}' "$DIR/wrk.txt"); p99=$(awk '$1=="99%"{print $2}' "$DIR/wrk.txt")
    rps=$(awk '/Requests\/sec/{print $2}' "$DIR/wrk.txt")
    printf '%-6s %-10s p50 %-9s p99 %-9s req/s %s\n' "$1" "$name" "$p50" "$p99" "$rps"
  done
}

measure idle
"$BIN" loadtest --target "tcp://127.0.0.1:$INGEST_PORT" --token "$COMMHUB_ADMIN_TOKEN" --http-port "$HTTP_PORT" \
  --duration "$LOAD_SECONDS" --warmup 2 --query-rate 0 --operations-rate 0 --quiet --json "$DIR/load.json" > /dev/null 2>&1 &
LOAD=$!
sleep 4
measure ingest
wait $LOAD || true
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("ingest during the run:", {k: s[k] for k in s if "per_second" in k or k.startswith("ingest")})' "$DIR/load.json" 2>/dev/null || true
