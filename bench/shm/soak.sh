#!/bin/bash
# shm soak: `strobe serve` (built-in pipeline: shm receiver → batch → trace analysis,
# prometheus; host collectors off) on a private shm directory, fed RECORDS records by one
# shm_soak producer; prints shm_soak's JSON (RSS of daemon and producer after a 1% warm-up and
# at the end) and the daemon's accepted-record counters from /metrics.
#
#   bench/shm/soak.sh BUILD_DIR [RECORDS [shm_soak options...]]   # default 10^9 records
set -euo pipefail
BUILD=${1:?build dir}; RECORDS=${2:-1000000000}; shift 2 || true
OUT=$(mktemp -d)
mkdir -m 700 "$OUT/shm"
"$BUILD/bin/strobe" serve --http 127.0.0.1:0 --otlp-http off --otlp-grpc off --shm soak \
  --set host.enabled=false --set shm.dir="$OUT/shm" > "$OUT/server.out" 2> "$OUT/server.err" &
SPID=$!
trap 'kill $SPID 2>/dev/null; wait $SPID 2>/dev/null; rm -rf "$OUT"' EXIT
for _ in $(seq 200); do grep -q ' ready ' "$OUT/server.err" && break; sleep 0.05; done
HTTP=$(sed -n 's/.*listening on http:\/\/\([0-9.:]*\).*/\1/p' "$OUT/server.err" | head -1)
"$BUILD/bin/shm_soak" --dir "$OUT/shm" --ring soak --records "$RECORDS" "$@"
sleep 2  # one metrics interval: the last cumulative points reach /metrics
curl -s "http://$HTTP/metrics" | grep -E '^(strobe_shm_records_total|strobe_shm_producer_dropped|strobe_receiver_accepted_(spans|metric_points|log_records)_total)\{receiver="shm"' || true
