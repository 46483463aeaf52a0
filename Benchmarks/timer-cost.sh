#!/bin/sh
# Timer cost at 1M open threads: compiles the engine's own TimerQueue.swift
# (with stand-in identifier types) and TimerCost/main.swift with -O, runs it.
#   Benchmarks/timer-cost.sh [TIMERS]   (default 1000000)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
grep -v '^import CommHubDomain' "$here/../Sources/CommHubEngine/TimerQueue.swift" > "$work/TimerQueue.swift"
swiftc -O -o "$work/timer-cost" "$work/TimerQueue.swift" "$here/TimerCost/Stand-ins.swift" "$here/TimerCost/main.swift" 2>&1 | grep -v warning || true
"$work/timer-cost" "${1:-1000000}"
