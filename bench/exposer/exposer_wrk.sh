#!/usr/bin/env bash
# The embedded Exposer against the daemon's own /metrics, same run, same wrk settings.
#
#   bench/exposer/exposer_wrk.sh [build dir] [seconds]
#
# 1. exposer_bench_server: 10,000 counter series served by strobe::metrics::Exposer;
# 2. `strobe serve --demo --set demo.extra_series=10000`: the daemon's /metrics with 10,000
#    extra series (plus host, process and demo metrics) — the in-run baseline.
# wrk -t2 -c16 -d<seconds>s --latency against each /metrics; prints a Markdown table for
# bench/RESULTS.md (requests/s, p50, p99, body bytes, samples). Needs wrk.
set -euo pipefail
build=${1:-build/release}
secs=${2:-10}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

measure() {  # measure <label> <url>
  local body; body=$(curl -s "$2")
  local bytes samples
  bytes=$(printf '%s' "$body" | wc -c)
  samples=$(printf '%s\n' "$body" | grep -vc '^#')
  wrk -t2 -c16 -d"${secs}s" --latency "$2" >"$tmp/wrk"
  local rps p50 p99
  rps=$(awk '/^Requests\/sec/ {print $2}' "$tmp/wrk")
  p50=$(awk '$1 == "50%" {print $2}' "$tmp/wrk")
  p99=$(awk '$1 == "99%" {print $2}' "$tmp/wrk")
  echo "| $1 | $samples | $bytes | $rps | $p50 | $p99 |"
}

echo "| server | samples | bytes | requests/s | p50 | p99 |"
echo "| --- | --- | --- | --- | --- | --- |"

# 1. the Exposer (stdin held open by a fifo; closing it stops the server)
mkfifo "$tmp/in"
"$build/bench/exposer/exposer_bench_server" 10000 <"$tmp/in" >"$tmp/exposer.log" &
pids+=($!)
exec 3>"$tmp/in"
for _ in $(seq 200); do
  port=$(grep -oP 'listening on 127.0.0.1:\K[0-9]+' "$tmp/exposer.log" || true)
  [ -n "$port" ] && break
  sleep 0.05
done
measure "strobe::metrics::Exposer, 10,000 series" "http://127.0.0.1:$port/metrics"
exec 3>&-

# 2. the daemon
"$build/bin/strobe" serve --http 127.0.0.1:0 --otlp-http off --otlp-grpc off --wire off \
  --data-dir "$tmp/data" --demo --set demo.extra_series=10000 >"$tmp/strobe.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do
  port=$(grep -oP 'listening on http://127.0.0.1:\K[0-9]+' "$tmp/strobe.log" || true)
  [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.05
done
sleep 1
measure "strobe serve /metrics (demo + 10,000 extra series)" "http://127.0.0.1:$port/metrics"
