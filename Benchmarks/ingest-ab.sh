#!/usr/bin/env bash
# Compares `commhub` binaries on embedded durable ingest, alternating them
# (A B C A B C ...) so that load from other processes on a shared machine
# falls on all of them alike.
#
#   Benchmarks/ingest-ab.sh ROUNDS BINARY...      (DURATION seconds per run, default 8)
#   RATE=8000 SNAPSHOT_EVERY=5 Benchmarks/ingest-ab.sh ROUNDS BINARY...
#                                                 (open loop at RATE events/s, a snapshot every
#                                                  SNAPSHOT_EVERY s: compares ingest-to-ack latency)
#
# Each run: `commhub loadtest` embedded, pipelined (8 connections x 16 frames x
# 16 events, sync full, no queries), as Scripts/bench-baseline runs it. Prints
# per run the events/s, the process's CPU seconds (user+sys, /usr/bin/time) per
# acknowledged event in microseconds (less sensitive to other processes than
# events/s: it counts the work, not the waiting; it includes the 2 s warm-up,
# so it overstates the absolute cost alike for every binary) and the load
# average; then per binary the median and range, and each binary's ratio to
# the first one.
set -euo pipefail
ROUNDS=$1; shift
DUR=${DURATION:-8}
EXTRA=()
[ -n "${RATE:-}" ] && EXTRA+=(--rate "$RATE")
[ -n "${SNAPSHOT_EVERY:-}" ] && EXTRA+=(--snapshot-every "$SNAPSHOT_EVERY")
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for i in $(seq 1 "$ROUNDS"); do
  for n in $(seq 1 $#); do
    bin=${!n}
    /usr/bin/time -f "%U %S" -o "$OUT/t" "$bin" loadtest --connections 8 --pipeline 16 --batch 16 --duration "$DUR" --warmup 2 \
      --query-rate 0 --operations-rate 0 --quiet --json "$OUT/r.json" ${EXTRA[@]+"${EXTRA[@]}"} >/dev/null 2>&1
    python3 - "$OUT/r.json" "$OUT/t" "$n" "$bin" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY' | tee -a "$OUT/runs"
import json, sys
r = json.load(open(sys.argv[1])); u, s = map(float, open(sys.argv[2]).read().split()[-2:])
eps = r["events_per_second"]; total = eps * (r["duration_seconds"] + 2)
i = r["ingest"]
print(sys.argv[3], sys.argv[4], eps, round((u + s) / total * 1e6, 2), sys.argv[5], i["p50_micros"], i["p99_micros"], i["max_micros"])
PY
  done
done
python3 - "$OUT/runs" <<'PY'
import sys, statistics as st
runs = {}
for line in open(sys.argv[1]):
    n, b, eps, cpu, load, p50, p99, mx = line.split()
    runs.setdefault((int(n), b), []).append((float(eps), float(cpu), float(load), float(p50), float(p99), float(mx)))
base = None
for (n, b), rs in sorted(runs.items()):
    e = [x[0] for x in rs]; c = [x[1] for x in rs]; l = [x[2] for x in rs]
    me, mc = st.median(e), st.median(c)
    if base is None: base = (me, mc)
    p50, p99, mx = (st.median(x[k] for x in rs) / 1000 for k in (3, 4, 5))
    print(f"{b}: events/s median {me:.0f} [{min(e):.0f}-{max(e):.0f}], CPU/event median {mc:.2f} us [{min(c):.2f}-{max(c):.2f}], "
          f"load {min(l):.1f}-{max(l):.1f}; vs first: throughput x{me/base[0]:.2f}, CPU/event x{mc/base[1]:.2f}; "
          f"ack latency medians p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {mx:.1f} ms")
PY
