#!/bin/bash
# Hostile soak of `strobe serve` (issue 14): valid OTLP span/metric clients and an shm producer at
# fixed moderate rates, hostile clients in rotation, the daemon exporting to a checking OTLP sink;
# prints RSS over time, refusals by reason and acknowledged vs arrived per valid client. Exits
# non-zero on a lost acknowledged item, a daemon crash, an RSS peak above the bound, or a
# /healthz outage longer than 30 s. See bench/soak/README.md.
#
#   bench/soak/run.sh BUILD_DIR [DURATION_S [soak.py run options...]]
#   bench/soak/run.sh build/release 1800 --rss-limit-mb 1024
#   bench/soak/run.sh build/release 120 --attacks garbage,wrong_token   # a subset
set -euo pipefail
BUILD=${1:?build dir}; DURATION=${2:-1800}; shift 2 || true
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$BUILD/bin/strobe" ] || { echo "$BUILD/bin/strobe is not built" >&2; exit 2; }
[ -d "$BUILD/python/strobe" ] || { echo "$BUILD/python/strobe (the Python package) is not built" >&2; exit 2; }
OUT=$(mktemp -d /tmp/strobe-soak.XXXXXX)
PY=
cleanup() {
  # soak.py stops what it started; this catches it being killed itself.
  [ -z "$PY" ] || { kill "$PY" 2>/dev/null || true; wait "$PY" 2>/dev/null || true; }
  if [ -f "$OUT/strobe.pid" ]; then kill "$(cat "$OUT/strobe.pid")" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" = 1 ] || [ "${RC:-1}" != 0 ]; then
    echo "soak files (daemon log, config, client results): $OUT" >&2
  else
    rm -rf "$OUT"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export PYTHONDONTWRITEBYTECODE=1
/usr/bin/python3 "$HERE/soak.py" run --build "$BUILD" --out "$OUT" --duration "$DURATION" "$@" &
PY=$!
RC=0
wait "$PY" || RC=$?
PY=
exit "$RC"
