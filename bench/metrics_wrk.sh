#!/usr/bin/env bash
# Load test of `strobe serve` /metrics with wrk, and the daemon's idle footprint.
#
#   bench/metrics_wrk.sh [path/to/strobe] [seconds]
#
# 1. idle: `strobe serve` with host collectors on (no demo): CPU% of one core over 10 s and
#    RSS (VmRSS) after 3 s warm-up;
# 2. load: `strobe serve --demo --set demo.extra_series=10000` (10,000 extra counter series on
#    top of the host, process and demo metrics); wrk -t2 -c16 for N seconds (default 10)
#    against /metrics; requests/s, p50/p99 latency, RSS before and peak RSS during the run.
# Baseline in the same run: wrk against /healthz (the server without exposition cost).
# Prints a Markdown table for bench/RESULTS.md. Needs wrk (scripts/packages.txt).
set -euo pipefail
strobe=${1:-build/release/bin/strobe}
secs=${2:-10}
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

start() {  # start <args...>: sets pid and port
  "$strobe" serve --http 127.0.0.1:0 --otlp-http off --otlp-grpc off --wire off \
    --data-dir "$tmp/data" "$@" >"$tmp/log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do
    port=$(grep -oP 'listening on http://127.0.0.1:\K[0-9]+' "$tmp/log" || true)
    [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return 0
    sleep 0.05
  done
  echo "strobe did not start:"; cat "$tmp/log"; exit 1
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }

# 1. idle
start
sleep 3
t0=$(cpu_ticks); sleep 10; t1=$(cpu_ticks)
hz=$(getconf CLK_TCK)
idle_cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN {printf "%.2f", (b - a) / hz / 10 * 100}')
idle_rss=$(rss_kb)
stop

# 2. /metrics with 10,000 extra series
start --demo --set demo.extra_series=10000
sleep 1
series=$(curl -s "http://127.0.0.1:$port/metrics" | grep -vc '^#')
bytes=$(curl -s "http://127.0.0.1:$port/metrics" | wc -c)
rss_before=$(rss_kb)
peak=$rss_before
( while kill -0 "$pid" 2>/dev/null; do r=$(rss_kb 2>/dev/null || echo 0); echo "$r"; sleep 0.2; done ) >"$tmp/rss" &
sampler=$!
wrk -t2 -c16 -d"${secs}s" --latency "http://127.0.0.1:$port/metrics" >"$tmp/wrk_metrics"
wrk -t2 -c16 -d"${secs}s" --latency "http://127.0.0.1:$port/healthz" >"$tmp/wrk_healthz"
kill "$sampler" 2>/dev/null || true
peak=$(sort -n "$tmp/rss" | tail -1)
stop

rps() { awk '/^Requests\/sec/ {print $2}' "$1"; }
lat() { awk -v q="$2" '$1 == q {print $2}' "$1"; }
echo
echo "machine: $(nproc) vCPU, $(date -u +%Y-%m-%d)"
echo "/metrics page: $series samples, $bytes bytes"
echo
echo "| figure | value |"
echo "| --- | --- |"
echo "| idle CPU (collectors on, 10 s) | ${idle_cpu}% of one core |"
echo "| idle RSS | $((idle_rss / 1024)) MB ($idle_rss kB) |"
echo "| /metrics requests/s (wrk -t2 -c16 ${secs}s, $series samples) | $(rps "$tmp/wrk_metrics") |"
echo "| /metrics p50 / p99 latency | $(lat "$tmp/wrk_metrics" 50%) / $(lat "$tmp/wrk_metrics" 99%) |"
echo "| baseline /healthz requests/s (same daemon) | $(rps "$tmp/wrk_healthz") |"
echo "| baseline /healthz p50 / p99 | $(lat "$tmp/wrk_healthz" 50%) / $(lat "$tmp/wrk_healthz" 99%) |"
echo "| RSS with 10k series, before load | $((rss_before / 1024)) MB |"
echo "| peak RSS during load | $((peak / 1024)) MB |"
