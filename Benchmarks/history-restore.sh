#!/bin/bash
# Restore and memory with history out of RAM (issue 17), A/B in one run.
#
# For each binary: `commhub serve --demo` as its own process, fed by
# `commhub loadtest` (closed loop, 10,000 Zipf-popular conversations) for
# LOAD seconds, snapshots every SNAPSHOT_EVENTS events; then kill -9 and a
# restart on the same directory. Prints, per binary: events acknowledged,
# the restore (from /healthz), peak and heap RSS of the restarted process,
# and the serving process's heap before the kill.
#
#   Benchmarks/history-restore.sh OLD_BINARY NEW_BINARY
#   LOAD=120 SNAPSHOT_EVENTS=1000000 Benchmarks/history-restore.sh …
set -euo pipefail
LOAD=${LOAD:-120}
SNAP=${SNAPSHOT_EVENTS:-1000000}
TOKEN=chub_history-restore-admin-token-0000000
WORK=$(mktemp -d /tmp/history-restore.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

status() { grep -E "^$2:" /proc/$1/status | awk '{print $2}'; }

run() {  # NAME BINARY
  local name=$1 bin=$2 data="$WORK/$1" log="$WORK/$1.log"
  COMMHUB_ADMIN_TOKEN=$TOKEN $bin serve --demo --data "$data" --http-port 0 --ingest-port 0 --no-gateway \
    --no-workflow-timers --sync nosync --snapshot-events "$SNAP" --snapshot-interval 3600 --log-level warning >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 600); do grep -q "CommHub ingest" "$log" && break; sleep 0.1; done
  local http ingest
  http=$(sed -n 's/.*CommHub serving http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")
  ingest=$(sed -n 's/.*CommHub ingest tcp:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")
  $bin loadtest --target "tcp://127.0.0.1:$ingest" --token $TOKEN --http-port "$http" --connections 8 --pipeline 16 --batch 16 \
    --duration "$LOAD" --warmup 0 --query-rate 0 --operations-rate 0 --quiet --json "$WORK/$name-load.json" >/dev/null
  local anon_before
  anon_before=$(status $pid RssAnon)
  kill -9 $pid; wait $pid 2>/dev/null || true
  local log2="$WORK/$name-restart.log" start
  start=$(date +%s.%N)
  COMMHUB_ADMIN_TOKEN=$TOKEN $bin serve --data "$data" --http-port 0 --ingest-port 0 --no-gateway --no-workflow-timers \
    --sync nosync --snapshot-interval 3600 --log-level warning >"$log2" 2>&1 &
  pid=$!
  for _ in $(seq 1 6000); do grep -q "CommHub ingest" "$log2" && break; sleep 0.05; done
  local ready
  ready=$(python3 -c "import time; print(round(time.time() - $start, 2))")
  http=$(sed -n 's/.*CommHub serving http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log2")
  local health
  health=$(curl -s "http://127.0.0.1:$http/healthz")
  python3 - "$name" "$WORK/$name-load.json" "$health" "$ready" "$(status $pid VmHWM)" "$(status $pid RssAnon)" "$anon_before" <<'PY'
import json, sys
name, load, health, ready, hwm, anon, before = sys.argv[1], json.load(open(sys.argv[2])), json.loads(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
r = health.get("restore", health)
print(f"{name:>5}: {load['events_acknowledged']:>9,} events acknowledged ({load['events_per_second']:,.0f}/s); restart ready in {ready} s "
      f"(restore {r.get('milliseconds', r.get('restore_ms', '?'))} ms, {r.get('replayed_events', '?')} events replayed, {r.get('threads', '?')} threads); "
      f"peak RSS {hwm >> 10} MiB, heap {anon >> 10} MiB after restore, heap {before >> 10} MiB while serving")
PY
  kill $pid; wait $pid 2>/dev/null || true
}

run old "$1"
run new "$2"
