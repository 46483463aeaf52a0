#!/usr/bin/env bash
# What encryption at rest costs on ingest (issue 16): `commhub loadtest`
# against its embedded engine, records sealed (AES-256-GCM under per-scope
# data keys, as `serve` runs) and in the clear (--plain-records), alternated
# round by round in the same run so machine load hits both alike. Prints the
# median throughput and p99 of each and the ratio sealed / plain, for
# --sync nosync (the CPU cost alone) and --sync full (as served).
#
#   Benchmarks/sealing-cost.sh [BINARY] [ROUNDS] [SECONDS]
# BINARY defaults to .build/release/commhub (built when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/release/commhub}
ROUNDS=${2:-3}
SECONDS_PER_RUN=${3:-10}
if [[ ! -x "$BIN" ]]; then swift build -c release --product commhub >&2; fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for sync in nosync full; do
  for round in $(seq 1 "$ROUNDS"); do
    for mode in sealed plain; do
      flag=(); [[ $mode == plain ]] && flag=(--plain-records)
      "$BIN" loadtest --sync "$sync" --duration "$SECONDS_PER_RUN" --warmup 2 --query-rate 0 --operations-rate 0 \
        --pipeline 64 --connections 4 --quiet "${flag[@]}" --json "$OUT/$sync-$mode-$round.json" >/dev/null
    done
  done
done
python3 - "$OUT" "$ROUNDS" <<'PY'
import json, statistics, sys, os
out, rounds = sys.argv[1], int(sys.argv[2])
print(f"load average: {os.getloadavg()[0]:.2f}")
print("| sync | records | events/s (median) | p99 ms (median) | errors |")
print("| --- | --- | --- | --- | --- |")
med = {}
for sync in ["nosync", "full"]:
    for mode in ["sealed", "plain"]:
        runs = [json.load(open(f"{out}/{sync}-{mode}-{r}.json")) for r in range(1, rounds + 1)]
        eps = statistics.median(r["events_per_second"] for r in runs)
        p99 = statistics.median(r["ingest"]["p99_micros"] for r in runs) / 1000
        med[(sync, mode)] = (eps, p99)
        print(f"| {sync} | {mode} | {eps:,.0f} | {p99:.2f} | {sum(r['errors'] for r in runs)} |")
for sync in ["nosync", "full"]:
    (se, sp), (pe, pp) = med[(sync, "sealed")], med[(sync, "plain")]
    print(f"{sync}: sealed/plain throughput {se / pe:.2f}x, p99 {sp / pp:.2f}x")
PY
