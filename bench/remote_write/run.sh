#!/bin/bash
# remote_write throughput into a real VictoriaMetrics: starts victoria-metrics on a free
# loopback port with a throwaway data dir, runs remote_write_load (the prometheus_remote_write
# exporter on one thread, then the prometheus exporter's text exposition of the same batches as
# the same-run baseline) RUNS times, and prints a markdown row per run: samples/s (wall), samples
# per CPU-second of the exporter thread (the per-core figure), the baseline's, the rows VM
# counted as inserted (vm_rows_inserted_total{type="promremotewrite"}, which must equal the
# samples the exporter got 2xx for) and VM's own CPU (cores).
#
#   bench/remote_write/run.sh BUILD_DIR [DURATION_S] [RUNS] [SERIES]
#   bench/remote_write/run.sh build/release 10 5
set -euo pipefail
BUILD=${1:?build dir}; DURATION=${2:-10}; RUNS=${3:-3}; SERIES=${4:-10000}
OUT=$(mktemp -d)
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
victoria-metrics -httpListenAddr=127.0.0.1:$PORT -storageDataPath="$OUT/vm" -retentionPeriod=1d \
  -search.latencyOffset=0s > "$OUT/vm.log" 2>&1 &
VPID=$!
trap 'kill $VPID 2>/dev/null || true; wait $VPID 2>/dev/null || true; rm -rf "$OUT"' EXIT
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.05; done
TICK=$(getconf CLK_TCK)
rows() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^vm_rows_inserted_total\{type="promremotewrite"\}/{print $2}'; }
cpu() { awk '{print $14 + $15}' /proc/$VPID/stat; }
echo "| run | samples/s (wall) | samples per CPU-s (exporter thread) | baseline: prometheus text exposition, samples per CPU-s | samples 2xx | VM rows inserted | VM CPU (cores) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for r in $(seq "$RUNS"); do
  r0=$(rows); r0=${r0:-0}; c0=$(cpu); t0=$(date +%s.%N)
  J=$("$BUILD/bin/remote_write_load" "http://127.0.0.1:$PORT/api/v1/write" "$DURATION" "$SERIES")
  t1=$(date +%s.%N)
  # VM counts rows as it ingests them; the exporter already has every 2xx, so this is final.
  r1=$(rows); c1=$(cpu)
  /usr/bin/python3 - "$J" "$r0" "$r1" "$c0" "$c1" "$TICK" "$r" <<'PY'
import json, sys
j = json.loads(sys.argv[1]); r0, r1, c0, c1, tick = map(float, sys.argv[2:7])
vm_cpu = (c1 - c0) / tick / j["wall_s"]  # VM's CPU while the exporter ran (baseline excluded)
print(f"| {sys.argv[7]} | {j['samples_per_s']:,.0f} | {j['samples_per_cpu_s']:,.0f} | "
      f"{j['baseline_samples_per_cpu_s']:,.0f} | {j['sent_samples']:,.0f} | {r1 - r0:,.0f} | {vm_cpu:.2f} |")
PY
done
