#!/usr/bin/env bash
# What limits durable ingest on this machine: the same embedded
# `commhub loadtest` (8 connections x 16 frames x 16 events, closed loop, no
# queries) in five set-ups, alternated round by round so that machine load
# falls on all alike:
#
#   disk        the store on the temporary directory's disk, fsync per group commit (as served)
#   nosync      the same disk, no fsync (--sync nosync: what the fsyncs cost)
#   tmpfs       the store on /dev/shm, fsync a no-op (what the device costs as a whole)
#   plain       the disk, records in the clear (--plain-records: what sealing costs)
#   tmpfs-plain /dev/shm and in the clear: the CPU ceiling of the process on these cores
#
# Per set-up: median events/s and its ratio to `disk`, CPU microseconds per
# acknowledged event (user+sys over the whole run, warm-up included), the
# journal writer's mean commit time and events per commit (the summary's
# `journal` figures), and for the disk runs the device's write requests per
# event and their mean service time (from /sys/class/block/DEV/stat, sampled
# over the measured window; other processes writing to the same device count
# too, so run it on a quiet machine).
#
#   Benchmarks/ingest-limits.sh [ROUNDS] [BINARY]     (DURATION seconds per run, default 8)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
BIN=${2:-.build/release/commhub}
DUR=${DURATION:-8}
(( DUR >= 4 )) || { echo "DURATION must be at least 4 seconds (the device is sampled from second 3)" >&2; exit 1; }
if [[ ! -x "$BIN" ]]; then swift build -c release --product commhub >&2; fi
[[ -d /dev/shm ]] || { echo "no /dev/shm" >&2; exit 1; }
tmp=${TMPDIR:-/tmp}
dev=$(basename "$(df --output=source "$tmp" | tail -1)")
stat=/sys/class/block/$dev/stat
[[ -r $stat ]] || stat=""
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

run() { # label tmpdir extra...
  local label=$1 dir=$2; shift 2
  rm -f "$OUT/r.json"
  TMPDIR=$dir /usr/bin/time -f "%U %S" -o "$OUT/t" "$BIN" loadtest --connections 8 --pipeline 16 --batch 16 \
    --duration "$DUR" --warmup 2 --query-rate 0 --operations-rate 0 --quiet --json "$OUT/r.json" "$@" >/dev/null 2>&1 &
  local pid=$! a="" b=""
  if [[ -n $stat && $dir != /dev/shm ]]; then
    sleep 3; a=$(cat "$stat"); sleep $((DUR - 2)); b=$(cat "$stat")
  fi
  wait $pid
  python3 - "$OUT/r.json" "$OUT/t" "$label" "$a" "$b" "$((DUR - 2))" <<'PY' | tee -a "$OUT/runs"
import json, sys
r = json.load(open(sys.argv[1])); u, s = map(float, open(sys.argv[2]).read().split()[-2:])
eps = r["events_per_second"]; total = eps * (r["duration_seconds"] + 2)
j = r.get("journal") or {}
ios = ms = ""
if sys.argv[4] and sys.argv[5]:
    a = list(map(int, sys.argv[4].split())); b = list(map(int, sys.argv[5].split()))
    writes = b[4] - a[4]; window = float(sys.argv[6])
    ios = round(writes / window / eps, 2); ms = round((b[7] - a[7]) / max(writes, 1), 3)
print(sys.argv[3], round(eps), round((u + s) / total * 1e6, 1), round(j.get("commit_millis_mean", 0), 2),
      round(j.get("events_per_batch", 0)), ios, ms)
PY
}

for i in $(seq 1 "$ROUNDS"); do
  run disk "$tmp"
  run nosync "$tmp" --sync nosync
  run tmpfs /dev/shm
  run plain "$tmp" --plain-records
  run tmpfs-plain /dev/shm --plain-records
done
python3 - "$OUT/runs" "$dev" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows.setdefault(f[0], []).append(f[1:])
base = statistics.median(float(r[0]) for r in rows["disk"])
print(f"\nmedians over {len(rows['disk'])} rounds (device {sys.argv[2]} for the disk runs)")
print(f"{'set-up':12} {'events/s':>9} {'ratio':>6} {'CPU us/ev':>9} {'commit ms':>9} {'ev/commit':>9} {'dev writes/ev':>13} {'ms/write':>8}")
for k in ["disk", "nosync", "tmpfs", "plain", "tmpfs-plain"]:
    rs = rows[k]
    med = lambda i: statistics.median(float(r[i]) for r in rs) if len(rs[0]) > i and rs[0][i] != "" else None
    eps = med(0)
    ios, ms = med(4), med(5)
    print(f"{k:12} {eps:9.0f} {eps / base:6.2f} {med(1):9.1f} {med(2):9.2f} {med(3):9.0f} "
          f"{'' if ios is None else f'{ios:.2f}':>13} {'' if ms is None else f'{ms:.3f}':>8}")
PY
