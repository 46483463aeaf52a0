#!/usr/bin/env bash
# Supervisor-executor CPU per ingested event, from perf samples, for several
# `commhub` binaries alternating (A B A B ...), ROUNDS rounds:
#
#   Benchmarks/ingest-supervisor-cpu.sh ROUNDS BINARY...     (DURATION seconds, default 8)
#
# Each run is the embedded pipelined `commhub loadtest` of ingest-ab.sh under
# `perf record -F 1999 -g`. A sample counts for the supervisor when its stack
# holds a Supervisor, ThreadActor or AgentActor frame (the actors that share
# the supervisor's executor); CPU per event = those samples / 1999 Hz / events
# acknowledged during the run (warm-up included: 2 s at the same rate). Less
# sensitive to other processes than events/s: it counts work, not waiting.
set -euo pipefail
ROUNDS=$1; shift
DUR=${DURATION:-8}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for i in $(seq 1 "$ROUNDS"); do
  for n in $(seq 1 $#); do
    bin=${!n}
    perf record -F 1999 -g -o "$OUT/perf.data" "$bin" loadtest --connections 8 --pipeline 16 --batch 16 --duration "$DUR" --warmup 2 \
      --query-rate 0 --operations-rate 0 --quiet --json "$OUT/r.json" >/dev/null 2>&1
    perf script -i "$OUT/perf.data" -F ip,sym 2>/dev/null | python3 -c '
import json, sys
r = json.load(open(sys.argv[1])); events = r["events_per_second"] * (r["duration_seconds"] + 2)
sup = total = 0; cur = False; any_ = False
for line in sys.stdin:
    s = line.strip()
    if not s:
        if any_: total += 1; sup += cur
        cur = any_ = False; continue
    any_ = True
    if "SupervisorC" in s or "ThreadActorC" in s or "AgentActorC" in s: cur = True
if any_: total += 1; sup += cur
print(sys.argv[2], sys.argv[3], r["events_per_second"], round(sup / 1999 / events * 1e6, 2), round(100 * sup / total, 1))
' "$OUT/r.json" "$n" "$bin" | tee -a "$OUT/runs"
  done
done
python3 - "$OUT/runs" <<'PY'
import sys, statistics as st
runs = {}
for line in open(sys.argv[1]):
    n, b, eps, us, share = line.split()
    runs.setdefault((int(n), b), []).append((float(eps), float(us), float(share)))
base = None
for (n, b), rs in sorted(runs.items()):
    u = [x[1] for x in rs]; sh = [x[2] for x in rs]; e = [x[0] for x in rs]
    m = st.median(u)
    if base is None: base = m
    print(f"{b}: supervisor CPU/event median {m:.2f} us [{min(u):.2f}-{max(u):.2f}], share of process samples {st.median(sh):.1f}%, "
          f"events/s median {st.median(e):.0f}; vs first x{m/base:.2f}")
PY
