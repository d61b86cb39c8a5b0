#!/usr/bin/env bash
# Interleaved before/after runs of micro-benchmarks, so a change is compared with its baseline
# under the same machine conditions (base, new, base, new, ...), and the medians and ratios.
#
#   bench/compare.sh BASE_BUILD NEW_BUILD [ROUNDS] [BENCHMARK[:FILTER] ...]
#
# BASE_BUILD/NEW_BUILD are release build dirs (e.g. a worktree of the previous commit built
# with `cmake --preset release`). Defaults: 5 rounds of otlp_benchmark, pipeline_benchmark and
# the single-thread metrics_benchmark hot paths. Each run is pinned to CPU 1 when taskset exists
# (NOPIN=1: not pinned, for multi-threaded benchmarks).
# Prints one line per benchmark: base median, new median, new/base as throughput (> 1 = faster).
set -euo pipefail
BASE=${1:?base build dir}; NEW=${2:?new build dir}; ROUNDS=${3:-5}; shift 3 || shift $#
SPECS=("$@")
[ ${#SPECS[@]} -gt 0 ] || SPECS=(otlp_benchmark pipeline_benchmark
  'metrics_benchmark:histogram_record/threads:1|counter_inc/threads:1|gauge_set/threads:1|baseline_thread_local_inc/threads:1')
OUT=$(mktemp -d)
PIN=(); [ -z "${NOPIN:-}" ] && command -v taskset >/dev/null && PIN=(taskset -c 1)
find_bin() { find "$1" -name "$2" -type f -executable | head -1; }
for round in $(seq "$ROUNDS"); do
  for which in base new; do
    dir=$BASE; [ $which = new ] && dir=$NEW
    for spec in "${SPECS[@]}"; do
      name=${spec%%:*}; filter=${spec#*:}; [ "$filter" = "$spec" ] && filter=.
      bin=$(find_bin "$dir" "$name"); [ -n "$bin" ] || { echo "no $name in $dir" >&2; exit 2; }
      "${PIN[@]}" "$bin" --benchmark_filter="$filter" --benchmark_format=json \
        --benchmark_out="$OUT/${name}__${which}__${round}.json" --benchmark_out_format=json >/dev/null
    done
  done
done
/usr/bin/python3 - "$OUT" <<'PY'
import collections, glob, json, statistics, sys
res = collections.defaultdict(lambda: collections.defaultdict(list))
for f in glob.glob(sys.argv[1] + "/*.json"):
    name, which, _ = f.rsplit("/", 1)[1][:-5].split("__")
    for b in json.load(open(f))["benchmarks"]:
        ips = "items_per_second" in b
        res[b["name"]][which].append((ips, b["items_per_second"] if ips else b["real_time"]))
for key in sorted(res):
    base = [v for _, v in res[key]["base"]]; new = [v for _, v in res[key]["new"]]
    if not base or not new: continue
    ips = res[key]["base"][0][0]
    mb, mn = statistics.median(base), statistics.median(new)
    print(f"{key:60} {'items/s' if ips else 'ns':7} base {mb:12.4g} new {mn:12.4g} "
          f"new/base {(mn / mb if ips else mb / mn):.3f}")
PY
rm -rf "$OUT"
