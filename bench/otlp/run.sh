#!/bin/bash
# OTLP/HTTP protobuf ingest benchmark: starts otlp_ingest_server with CONFIG (default
# ingest.yaml), then runs `strobe bench otlp` (1,000 spans × 6 attributes per request) for
# each connection count, and prints a markdown row per run with the server's CPU (user+sys
# seconds per wall second, from /proc/PID/stat) and RSS (VmRSS at the end, VmHWM peak).
#
#   bench/otlp/run.sh BUILD_DIR [DURATION_S] [CONNECTIONS...]
#   bench/otlp/run.sh build/release 10 1 2 4 8
#   SERVE=1 bench/otlp/run.sh build/release 10 1 2   # the product: `strobe serve` (no config
#       file: its built-in pipeline otlp_http → memory_limiter, batch → trace_analysis,
#       prometheus; CONFIG=FILE to give it one), host collectors off
set -euo pipefail
BUILD=${1:?build dir}; DURATION=${2:-10}; shift 2 || true
CONNS=("$@"); [ ${#CONNS[@]} -eq 0 ] && CONNS=(1 2 4 8)
HERE=$(cd "$(dirname "$0")" && pwd)
CONFIG_GIVEN=${CONFIG:+1}
CONFIG=${CONFIG:-$HERE/ingest.yaml}
OUT=$(mktemp -d)
if [ "${SERVE:-0}" = 1 ]; then
  ARGS=(serve --http 127.0.0.1:0 --otlp-http 127.0.0.1:0 --set host.enabled=false)
  [ -z "${CONFIG_GIVEN:-}" ] || ARGS+=(--config "$CONFIG")
  "$BUILD/bin/strobe" "${ARGS[@]}" > "$OUT/server.out" 2> "$OUT/server.err" &
  SPID=$!
  trap 'kill $SPID 2>/dev/null || true; wait $SPID 2>/dev/null || true; rm -rf "$OUT"' EXIT
  for _ in $(seq 100); do grep -q ' ready ' "$OUT/server.err" && break; sleep 0.05; done
  OTLP=$(sed -n 's/.*otlp_http listening on \([0-9.:]*\).*/\1/p' "$OUT/server.err")
else
  "$BUILD/bin/otlp_ingest_server" --config "$CONFIG" > "$OUT/server.out" 2> "$OUT/server.err" &
  SPID=$!
  trap 'kill $SPID 2>/dev/null || true; wait $SPID 2>/dev/null || true; rm -rf "$OUT"' EXIT
  for _ in $(seq 100); do grep -q '^ready' "$OUT/server.out" && break; sleep 0.05; done
  OTLP=$(sed -n 's/.*otlp_http=\([^ ]*\).*/\1/p' "$OUT/server.out")
fi
[ -n "$OTLP" ] || { cat "$OUT/server.err"; exit 1; }
TICK=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' /proc/$SPID/stat; }
echo "| connections | requests/s | spans/s | p50 ms | p99 ms | status codes | server CPU (cores) | server RSS MB (peak) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
ACKED=0
for c in "${CONNS[@]}"; do
  c0=$(cpu); t0=$(date +%s.%N)
  J=$("$BUILD/bin/strobe" bench otlp --url "http://$OTLP" --connections "$c" --duration "$DURATION" --json)
  c1=$(cpu); t1=$(date +%s.%N)
  RSS=$(awk '/VmRSS/{print $2/1024}' /proc/$SPID/status); HWM=$(awk '/VmHWM/{print $2/1024}' /proc/$SPID/status)
  ACKED=$((ACKED + $(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["status_codes"].get("200", 0) * j["spans_per_request"])' "$J")))
  python3 - "$J" "$c0" "$c1" "$t0" "$t1" "$TICK" "$RSS" "$HWM" "$c" <<'PY'
import json, sys
j = json.loads(sys.argv[1]); c0, c1, t0, t1, tick = map(float, sys.argv[2:7])
rss, hwm, conns = float(sys.argv[7]), float(sys.argv[8]), sys.argv[9]
codes = " ".join(f"{k}={v}" for k, v in j["status_codes"].items())
print(f"| {conns} | {j['requests_per_s']:.0f} | {j['spans_per_s']:.0f} | {j['latency_ms']['p50']:.2f} | "
      f"{j['latency_ms']['p99']:.2f} | {codes} | {(c1 - c0) / tick / (t1 - t0):.2f} | {rss:.0f} ({hwm:.0f}) |")
PY
done
# The stand-alone server prints what its memory exporter counted once the pipeline drained:
# every span the load generator saw acknowledged (200) must have reached the exporter.
if [ "${SERVE:-0}" != 1 ]; then
  kill -TERM $SPID; wait $SPID || true
  EXPORTED=$(sed -n 's/^exported spans=\([0-9]*\).*/\1/p' "$OUT/server.out")
  echo
  echo "spans acknowledged with 200: $ACKED; spans the memory exporter received: ${EXPORTED:-?}"
  [ "${EXPORTED:-0}" -ge "$ACKED" ] || { echo "LOST SPANS" >&2; exit 1; }
fi
