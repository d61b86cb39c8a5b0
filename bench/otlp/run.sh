#!/bin/bash
# OTLP protobuf ingest benchmark: starts otlp_ingest_server with CONFIG (default ingest.yaml:
# an otlp_http and an otlp_grpc receiver into one traces pipeline → memory exporter), then runs
# `strobe bench otlp` (1,000 spans × 6 attributes per request) for each connection count and
# protocol, and prints a markdown row per run with the server's CPU (user+sys seconds per wall
# second, from /proc/PID/stat) and RSS (VmRSS at the end, VmHWM peak).
#
#   bench/otlp/run.sh BUILD_DIR [DURATION_S] [CONNECTIONS...]
#   bench/otlp/run.sh build/release 10 1 2 4 8
#   PROTOCOLS="http grpc" ROUNDS=3 bench/otlp/run.sh build/release 5 1 2 4 8
#       both receivers, interleaved (for each round, each connection count: http then grpc),
#       and a table of medians per protocol and connection count at the end
#   SERVE=1 bench/otlp/run.sh build/release 10 1 2   # the product: `strobe serve` (no config
#       file: its built-in pipeline otlp_http, otlp_grpc → memory_limiter, batch →
#       trace_analysis, prometheus; CONFIG=FILE to give it one), host collectors off
set -euo pipefail
BUILD=${1:?build dir}; DURATION=${2:-10}; shift 2 || true
CONNS=("$@"); [ ${#CONNS[@]} -eq 0 ] && CONNS=(1 2 4 8)
read -r -a PROTOS <<< "${PROTOCOLS:-http}"
ROUNDS=${ROUNDS:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
CONFIG_GIVEN=${CONFIG:+1}
CONFIG=${CONFIG:-$HERE/ingest.yaml}
OUT=$(mktemp -d)
if [ "${SERVE:-0}" = 1 ]; then
  ARGS=(serve --http 127.0.0.1:0 --otlp-http 127.0.0.1:0 --otlp-grpc 127.0.0.1:0
        --set host.enabled=false)
  [ -z "${CONFIG_GIVEN:-}" ] || ARGS+=(--config "$CONFIG")
  "$BUILD/bin/strobe" "${ARGS[@]}" > "$OUT/server.out" 2> "$OUT/server.err" &
  SPID=$!
  trap 'kill $SPID 2>/dev/null || true; wait $SPID 2>/dev/null || true; rm -rf "$OUT"' EXIT
  for _ in $(seq 100); do grep -q ' ready ' "$OUT/server.err" && break; sleep 0.05; done
  OTLP_HTTP=$(sed -n 's/.*otlp_http listening on \([0-9.:]*\).*/\1/p' "$OUT/server.err")
  OTLP_GRPC=$(sed -n 's/.*otlp_grpc listening on \([0-9.:]*\).*/\1/p' "$OUT/server.err")
else
  "$BUILD/bin/otlp_ingest_server" --config "$CONFIG" > "$OUT/server.out" 2> "$OUT/server.err" &
  SPID=$!
  trap 'kill $SPID 2>/dev/null || true; wait $SPID 2>/dev/null || true; rm -rf "$OUT"' EXIT
  for _ in $(seq 100); do grep -q '^ready' "$OUT/server.out" && break; sleep 0.05; done
  OTLP_HTTP=$(sed -n 's/.*otlp_http=\([^ ]*\).*/\1/p' "$OUT/server.out")
  OTLP_GRPC=$(sed -n 's/.*otlp_grpc=\([^ ]*\).*/\1/p' "$OUT/server.out")
fi
for p in "${PROTOS[@]}"; do
  case $p in
    http) [ -n "$OTLP_HTTP" ] || { cat "$OUT/server.err"; exit 1; } ;;
    grpc) [ -n "$OTLP_GRPC" ] || { cat "$OUT/server.err"; exit 1; } ;;
    *) echo "PROTOCOLS: http or grpc, not $p" >&2; exit 2 ;;
  esac
done
TICK=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' /proc/$SPID/stat; }
echo "| protocol | connections | requests/s | spans/s | p50 ms | p99 ms | status codes | server CPU (cores) | server RSS MB (peak) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
ACKED=0
: > "$OUT/rows.jsonl"
for _ in $(seq "$ROUNDS"); do
  for c in "${CONNS[@]}"; do
    for p in "${PROTOS[@]}"; do
      if [ "$p" = grpc ]; then URL="grpc://$OTLP_GRPC"; else URL="http://$OTLP_HTTP"; fi
      c0=$(cpu); t0=$(date +%s.%N)
      J=$("$BUILD/bin/strobe" bench otlp --url "$URL" --connections "$c" --duration "$DURATION" --json)
      c1=$(cpu); t1=$(date +%s.%N)
      RSS=$(awk '/VmRSS/{print $2/1024}' /proc/$SPID/status); HWM=$(awk '/VmHWM/{print $2/1024}' /proc/$SPID/status)
      ACKED=$((ACKED + $(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["status_codes"].get("200", 0) * j["spans_per_request"])' "$J")))
      python3 - "$J" "$c0" "$c1" "$t0" "$t1" "$TICK" "$RSS" "$HWM" "$c" "$p" "$OUT/rows.jsonl" <<'PY'
import json, sys
j = json.loads(sys.argv[1]); c0, c1, t0, t1, tick = map(float, sys.argv[2:7])
rss, hwm, conns, proto = float(sys.argv[7]), float(sys.argv[8]), sys.argv[9], sys.argv[10]
cpu = (c1 - c0) / tick / (t1 - t0)
codes = " ".join(f"{k}={v}" for k, v in j["status_codes"].items())
print(f"| {proto} | {conns} | {j['requests_per_s']:.0f} | {j['spans_per_s']:.0f} | {j['latency_ms']['p50']:.2f} | "
      f"{j['latency_ms']['p99']:.2f} | {codes} | {cpu:.2f} | {rss:.0f} ({hwm:.0f}) |")
with open(sys.argv[11], "a") as f:
    f.write(json.dumps({"proto": proto, "conns": int(conns), "sps": j["spans_per_s"], "cpu": cpu,
                        "p50": j["latency_ms"]["p50"], "p99": j["latency_ms"]["p99"]}) + "\n")
PY
    done
  done
done
if [ "$ROUNDS" -gt 1 ]; then
  echo
  echo "Medians of $ROUNDS interleaved rounds:"
  echo
  python3 - "$OUT/rows.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = sorted({(r["conns"], r["proto"]) for r in rows})
print("| connections | protocol | spans/s (median) | spans/s (min–max) | server CPU (cores) | spans per CPU-second | p50 ms | p99 ms |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for c, p in keys:
    rs = [r for r in rows if r["conns"] == c and r["proto"] == p]
    sps = statistics.median(r["sps"] for r in rs); cpu = statistics.median(r["cpu"] for r in rs)
    print(f"| {c} | {p} | {sps/1e6:.2f} M | {min(r['sps'] for r in rs)/1e6:.2f}–{max(r['sps'] for r in rs)/1e6:.2f} M | "
          f"{cpu:.2f} | {statistics.median(r['sps']/r['cpu'] for r in rs if r['cpu'] > 0)/1e6:.2f} M | "
          f"{statistics.median(r['p50'] for r in rs):.2f} | {statistics.median(r['p99'] for r in rs):.2f} |")
PY
fi
# The stand-alone server prints what its memory exporter counted once the pipeline drained:
# every span the load generator saw acknowledged (200 / OK) must have reached the exporter.
if [ "${SERVE:-0}" != 1 ]; then
  kill -TERM $SPID; wait $SPID || true
  EXPORTED=$(sed -n 's/^exported spans=\([0-9]*\).*/\1/p' "$OUT/server.out")
  echo
  echo "spans acknowledged with 200/OK: $ACKED; spans the memory exporter received: ${EXPORTED:-?}"
  [ "${EXPORTED:-0}" -ge "$ACKED" ] || { echo "LOST SPANS" >&2; exit 1; }
fi
