#!/usr/bin/env bash
# WebSocket fan-out with the server and the clients in separate processes:
# `commhub serve` runs on its own, `commhub loadtest` opens N subscribers of
# /api/events from another process, publishes messages at a fixed rate
# through the ingest protocol, and every subscriber records, for every
# message.created frame, the time from when the message was due until the
# frame arrived (ingest-to-delivery; one HdrHistogram across all subscribers).
#
#   Benchmarks/fanout.sh [COMMHUB_BINARY] [SECONDS]
#
# Runs each subscriber count against both fan-outs of the same binary, in
# the same run: `per-event-loop` (one writer per event loop, the default) and
# `per-subscriber-task` (the previous design, kept behind the hidden
# `serve --event-fan-out` option for this comparison). The 1-subscriber run
# of each is the baseline. COUNTS="1 1000 10000" and RATES="20 20 2"
# (messages per second for each count) can be overridden; MODES too.
#
# 10,000 subscribers need more than 10,000 file descriptors in each
# process: the script raises `ulimit -n` to the hard limit (20,000 or more
# is enough) and the server's --http-max-connections to 30,000.
#
# Server and clients share the machine's cores; the table shows the CPU
# seconds each process used during each run (connecting included), so a
# figure limited by the clients' side is visible as such.
set -euo pipefail
BIN=${1:-.build/release/commhub}
SECONDS_PER_RUN=${2:-10}
COUNTS=${COUNTS:-"1 1000 10000"}
RATES=${RATES:-"20 20 2"}
MODES=${MODES:-"per-event-loop per-subscriber-task"}
HTTP_PORT=${HTTP_PORT:-18181}
INGEST_PORT=${INGEST_PORT:-17171}
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 10500 ]; then
  echo "note: ulimit -n is $(ulimit -n); 10,000 subscribers need about 10,100 per process" >&2
fi
DIR=$(mktemp -d /tmp/commhub-fanout.XXXXXX)
export COMMHUB_ADMIN_TOKEN="chub_bench_admin_$$"
SERVER=
cleanup() { if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi; rm -rf "$DIR"; }
trap cleanup EXIT

start_server() {  # mode
  rm -rf "$DIR/data"
  "$BIN" serve --data "$DIR/data" --demo --no-gateway --http-port "$HTTP_PORT" --ingest-port "$INGEST_PORT" \
    --sync nosync --log-level error --http-max-connections 30000 --event-fan-out "$1" > "$DIR/serve-$1.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" > /dev/null && return; sleep 0.2; done
  echo "the server did not start; see $DIR/serve-$1.log" >&2
  exit 1
}

stop_server() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  SERVER=
}

read -r -a rates <<< "$RATES"
for mode in $MODES; do
  start_server "$mode"
  i=0
  for n in $COUNTS; do
    rate=${rates[$i]:-2}
    i=$((i + 1))
    cpu_before=$(awk '{print $14 + $15}' "/proc/$SERVER/stat")
    /usr/bin/time -f "%U %S" -o "$DIR/$mode-$n.clientcpu" "$BIN" loadtest --target "tcp://127.0.0.1:$INGEST_PORT" --token "$COMMHUB_ADMIN_TOKEN" --http-port "$HTTP_PORT" \
      --connections 1 --rate "$rate" --subscribers "$n" --query-rate 0 --operations-rate 0 \
      --duration "$SECONDS_PER_RUN" --warmup 2 --quiet --json "$DIR/$mode-$n.json" > /dev/null 2> "$DIR/$mode-$n.err" \
      || { echo "loadtest $mode $n failed:" >&2; tail -5 "$DIR/$mode-$n.err" >&2; }
    cpu_after=$(awk '{print $14 + $15}' "/proc/$SERVER/stat")
    echo "$(( cpu_after - cpu_before ))" > "$DIR/$mode-$n.servercpu"   # clock ticks
    rss=$(awk '/VmRSS/{print $2}' "/proc/$SERVER/status")
    echo "$rss" > "$DIR/$mode-$n.rss"
  done
  stop_server
done

python3 - "$DIR" "$MODES" "$COUNTS" "$RATES" <<'EOF'
import json, os, sys
d, modes, counts, rates = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split()
def load(mode, n):
    p = os.path.join(d, f"{mode}-{n}.json")
    if not os.path.exists(p): return None
    s = json.load(open(p))
    s["rss_kib"] = int(open(os.path.join(d, f"{mode}-{n}.rss")).read().strip() or 0)
    tick = os.sysconf("SC_CLK_TCK")
    s["server_cpu"] = int(open(os.path.join(d, f"{mode}-{n}.servercpu")).read().strip() or 0) / tick
    try:
        u, sy = open(os.path.join(d, f"{mode}-{n}.clientcpu")).read().split()[-2:]
        s["client_cpu"] = float(u) + float(sy)
    except Exception:
        s["client_cpu"] = float("nan")
    return s
ms = lambda us: f"{us / 1000:.2f} ms"
print(f"{'fan-out':<21} {'subs':>6} {'msg/s':>6} {'frames':>9} {'errors':>6} {'ack p99':>9} {'deliver p50':>12} {'p99':>10} {'max':>10} {'p99 ÷ 1 sub':>12} {'p99 ÷ old':>10} {'server RSS':>11} {'CPU s: server':>14} {'clients':>8}")
for mode in modes:
    base = load(mode, counts[0])
    for i, n in enumerate(counts):
        s = load(mode, n)
        if s is None or not s.get("fanout"):
            print(f"{mode:<21} {n:>6}   (no result)"); continue
        f = s["fanout"]
        ratio = f"{f['p99_micros'] / base['fanout']['p99_micros']:.1f}×" if base and base.get("fanout") and base["fanout"]["p99_micros"] else "—"
        old = load("per-subscriber-task", n) if mode != "per-subscriber-task" else None
        vs_old = f"{f['p99_micros'] / old['fanout']['p99_micros']:.2f}×" if old and old.get("fanout") and old["fanout"]["p99_micros"] else "—"
        print(f"{mode:<21} {n:>6} {rates[i] if i < len(rates) else '2':>6} {s['subscriber_frames']:>9} {s['errors']:>6} {ms(s['ingest']['p99_micros']):>9} "
              f"{ms(f['p50_micros']):>12} {ms(f['p99_micros']):>10} {ms(f['max_micros']):>10} {ratio:>12} {vs_old:>10} {s['rss_kib'] / 1024:>8.0f} MiB {s['server_cpu']:>14.1f} {s['client_cpu']:>8.1f}")
EOF
