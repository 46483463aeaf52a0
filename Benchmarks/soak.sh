#!/bin/bash
# Soak (issue 17): `commhub loadtest` embedded, open loop at RATE events/s for
# DURATION seconds with a snapshot every 60 s, inbox queries and rebalances
# beside the ingest traffic; the process's memory sampled every 30 s from
# /proc (RssAnon: the engine's heap; RssFile: LMDB's mapped pages, page
# cache the kernel may reclaim) with the store's size on disk.
#
#   RATE=11500 DURATION=1800 OUT=/tmp/soak Benchmarks/soak.sh [BINARY]
# Take RATE as half of `commhub loadtest --connections 8 --pipeline 16 --batch 16`
# measured just before on the same machine.
set -euo pipefail
BIN=${1:-.build/release/commhub}
RATE=${RATE:-11500}
DURATION=${DURATION:-1800}
OUT=${OUT:-/tmp/commhub-soak}
mkdir -p "$OUT"
"$BIN" loadtest --rate "$RATE" --connections 8 --pipeline 16 --batch 16 --duration "$DURATION" --warmup 2 \
  --snapshot-every 60 --query-rate 20 --operations-rate 2 --quiet --json "$OUT/soak.json" >"$OUT/soak.out" 2>"$OUT/soak.err" &
PID=$!
: >"$OUT/samples.txt"
while kill -0 $PID 2>/dev/null; do
  if [ -r /proc/$PID/status ]; then
    echo "$(date +%s) $(grep -E '^(VmRSS|RssAnon|RssFile|VmHWM)' /proc/$PID/status | awk '{printf "%s%s ", $1, $2}')" \
      "$(du -sm /tmp/commhub-loadtest-* 2>/dev/null | awk '{s+=$1} END {print "disk_mb:" s}')" >>"$OUT/samples.txt"
  fi
  sleep 30
done
wait $PID
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
d = json.load(open(f"{out}/soak.json"))
rows = [dict(kv.split(":") for kv in line.split()[1:] if ":" in kv) for line in open(f"{out}/samples.txt") if "RssAnon" in line]
anon = [int(r["RssAnon"]) >> 10 for r in rows]
third = max(1, len(anon) // 3)
print(f"{d['events_acknowledged']:,} events in {d['duration_seconds']} s ({d['events_per_second']:,.0f}/s of {d.get('target_rate')}), "
      f"errors {d['errors']}, snapshots {d.get('snapshots_taken')}; ingest p50 {d['ingest']['p50_micros']/1000:.1f} ms, "
      f"p99 {d['ingest']['p99_micros']/1000:.1f} ms, max {d['ingest']['max_micros']/1000:.0f} ms")
print(f"heap (RssAnon) MiB: first third {min(anon[:third])}-{max(anon[:third])}, last third {min(anon[-third:])}-{max(anon[-third:])}, "
      f"end {anon[-1]}; mapped store pages (RssFile) at the end {int(rows[-1]['RssFile']) >> 10} MiB")
PY
