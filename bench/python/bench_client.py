#!/usr/bin/python3
"""strobe Python client benchmark: prints ONE JSON object.

    PYTHONPATH=build/release/python /usr/bin/python3 bench/python/bench_client.py \
        [--build-dir build/release] [--calls 1000000] [--repeat 7]

Starts its own consumer on a temp dir — by default the daemon itself (`strobe serve` with its
built-in pipeline: shm receiver → batch → prometheus, trace analysis; --consumer serve), or
the stand-alone ring reader strobe_shm_sink (--consumer sink) — and measures in the same run:
  - per-call ns of strobe Counter.inc() / inc(5) / inc(1.5) / Histogram.record(x) /
    Gauge.set(x), of the same COUNTER_ADD bound the ordinary pybind11 way (Ring.counter_add:
    the binding-layer baseline) and of Debian's python3-prometheus-client Counter.inc() /
    inc(1.5) / Histogram.observe();
    each figure is the median of --repeat timeit runs of --calls calls, the loop included
    (the empty loop is reported as loop_ns); --timer cpu times them with this process's CPU
    time instead of wall time (for a loaded machine);
  - numpy batch throughput (Histogram.record_many on 1M-value float64 arrays, until the final
    flush has been acknowledged, i.e. values the consumer has processed);
  - round-trip latency (PING written, consumer processes it, ack_seq read back) p50/p99 with
    busy-polling, and with the sleep-poll used after the spin phase (GIL released). With
    `strobe serve` the PING is acknowledged only after the receiver handed everything before
    it to the pipeline.
The consumer is stopped at the end and its totals are checked (no invalid records, no drops).
"""

import argparse
import json
import os
import pathlib
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]


TIMERS = {"wall": time.perf_counter, "cpu": time.process_time}
TIMER = TIMERS["wall"]


def per_call_ns(stmt, env, calls, repeat):
    runs = timeit.Timer(stmt, globals=env, timer=TIMER).repeat(repeat=repeat, number=calls)
    return statistics.median(runs) / calls * 1e9


def float_inc_ns(env, calls, repeat):
    try:
        env["counter"].inc(1.5)
    except TypeError:
        return None
    return per_call_ns("counter.inc(1.5)", env, calls, repeat)


def wait_serve(log_path, proc, timeout=20):
    """The HTTP address of a starting `strobe serve` once it logged ' ready '."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(log_path) as f:
            text = f.read()
        m = re.search(r"listening on http://([0-9.]+:[0-9]+)", text)
        if m and " ready " in text:
            return m.group(1)
        if proc.poll() is not None:
            raise SystemExit("strobe serve exited:\n" + text)
        time.sleep(0.05)
    raise SystemExit("strobe serve did not start")


def serve_totals(http):
    """The shm receiver's counters from the daemon's /metrics, in strobe_shm_sink's shape."""
    with urllib.request.urlopen(f"http://{http}/metrics", timeout=10) as r:
        text = r.read().decode()
    def total(prefix):
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith(prefix))
    return {"records": total('strobe_shm_records_total{receiver="shm"'),
            "invalid": total('strobe_shm_invalid_records_total{receiver="shm"'),
            "malformed": total('strobe_shm_invalid_records_total{receiver="shm",'
                               'reason="malformed_frame"}'),
            "producer_dropped": total('strobe_shm_producer_dropped_records_total')}


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.environ.get("STROBE_BUILD_DIR",
                                                          str(ROOT / "build" / "release")))
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--pings", type=int, default=20_000)
    ap.add_argument("--batch-seconds", type=float, default=1.0)
    ap.add_argument("--consumer", choices=("serve", "sink"), default="serve")
    # cpu: this process's CPU time (time.process_time) instead of wall time, for a loaded
    # machine where other processes preempt the client (the consumer runs in its own process).
    ap.add_argument("--timer", choices=sorted(TIMERS), default="wall")
    args = ap.parse_args()
    global TIMER
    TIMER = TIMERS[args.timer]

    sys.path.insert(0, str(pathlib.Path(args.build_dir) / "python"))
    import numpy as np
    import prometheus_client
    import strobe

    build = pathlib.Path(args.build_dir)
    tmp = tempfile.mkdtemp(prefix="strobe-bench-")
    ring = f"bench{os.getpid()}"
    http = None
    if args.consumer == "sink":
        sink = subprocess.Popen([str(build / "lib/strobe/shm/strobe_shm_sink"), "--dir", tmp,
                                 "--ring", ring], stdout=subprocess.PIPE, text=True)
    else:
        log = open(os.path.join(tmp, "serve.log"), "w")
        sink = subprocess.Popen([str(build / "bin/strobe"), "serve", "--http", "127.0.0.1:0",
                                 "--otlp-http", "off", "--otlp-grpc", "off", "--shm", ring,
                                 "--set", "shm.dir=" + tmp,
                                 "--set", "host.enabled=false"],
                                stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        if args.consumer == "sink":
            assert sink.stdout.readline().strip() == "ready"
        else:
            http = wait_serve(os.path.join(tmp, "serve.log"), sink)
        conn = strobe.connect(ring, tmp, policy="spin", capacity_bytes=1 << 26, spin_limit=1 << 40)
        counter = conn.counter("bench_requests_total", labelnames=["method"]).labels("GET")
        hist = conn.histogram("bench_latency_ns")
        gauge = conn.gauge("bench_depth")
        reg = prometheus_client.CollectorRegistry()
        p_counter = prometheus_client.Counter("bench_requests", "r", registry=reg)
        p_hist = prometheus_client.Histogram("bench_latency", "l", registry=reg)
        env = {"counter": counter, "hist": hist, "gauge": gauge, "p_counter": p_counter,
               "p_hist": p_hist, "ring": conn._ring, "sid": counter.series_id}
        c, r = args.calls, args.repeat
        out = {
            "benchmark": "python_client",
            "python": sys.executable,
            "python_version": platform.python_version(),
            "package": os.path.dirname(strobe.__file__),
            "calls_per_run": c,
            "runs": r,
            "statistic": "median of runs, ns per call, loop included",
            "timer": args.timer,
            "loop_ns": per_call_ns("pass", env, c, r),
            "strobe_counter_inc_ns": per_call_ns("counter.inc()", env, c, r),
            # The int-argument path (issue 15: inc() also takes floats; ints must not slow).
            "strobe_counter_inc_int_ns": per_call_ns("counter.inc(5)", env, c, r),
            # A fractional increment (a one-entry BATCH record); None where the package
            # refuses floats (before issue 15).
            "strobe_counter_inc_float_ns": float_inc_ns(env, c, r),
            "strobe_histogram_record_ns": per_call_ns("hist.record(0.25)", env, c, r),
            "strobe_gauge_set_ns": per_call_ns("gauge.set(3.0)", env, c, r),
            "pybind11_counter_add_ns": per_call_ns("ring.counter_add(sid, 1)", env, c, r),
            "prometheus_client_counter_inc_ns": per_call_ns("p_counter.inc()", env, c, r),
            "prometheus_client_counter_inc_float_ns": per_call_ns("p_counter.inc(1.5)", env, c, r),
            "prometheus_client_histogram_observe_ns":
                per_call_ns("p_hist.observe(0.25)", env, c, r),
        }
        out["ratio_counter_inc_vs_prometheus_client"] = (
            out["prometheus_client_counter_inc_ns"] / out["strobe_counter_inc_ns"])
        out["ratio_histogram_record_vs_prometheus_client"] = (
            out["prometheus_client_histogram_observe_ns"] / out["strobe_histogram_record_ns"])
        conn.flush(timeout=30)

        values = np.random.default_rng(1).random(1_000_000)
        sent = 0
        start = time.perf_counter()
        while time.perf_counter() - start < args.batch_seconds:
            sent += hist.record_many(values)
        conn.flush(timeout=30)
        elapsed = time.perf_counter() - start
        out["batch_array_values"] = len(values)
        out["batch_values_per_s"] = sent / elapsed

        for mode, spin in (("busy_poll", 1e-3), ("sleep_poll", 0.0)):
            n = args.pings if mode == "busy_poll" else max(1, args.pings // 10)
            rtt = sorted(conn.ping(timeout=5, spin=spin) for _ in range(n))
            out[f"roundtrip_{mode}_p50_us"] = percentile(rtt, 0.50) / 1e3
            out[f"roundtrip_{mode}_p99_us"] = percentile(rtt, 0.99) / 1e3
            out[f"roundtrip_{mode}_samples"] = n
        out["roundtrip_method"] = (
            ("PING record; strobe serve's shm receiver busy-polls the rings for 200 us after "
             "the last record (then sleeps 20 us..1 ms), pushes what preceded the PING into "
             "the pipeline and stores ack_seq; " if http is not None else
             "PING record, consumer busy-polls the ring and stores ack_seq; ") +
            "busy_poll: client "
            "spins on ack_seq with the GIL held; sleep_poll: no spinning, client nanosleeps "
            "10us..1ms (doubling) with the GIL released between checks of ack_seq")
        out["strobe_dropped_records"] = conn.dropped_records
        conn.close()
        if http is not None:
            totals = serve_totals(http)
    finally:
        if sink.poll() is None:
            sink.send_signal(signal.SIGTERM)
        if http is None:
            try:
                totals = json.loads(sink.communicate(timeout=30)[0].strip().splitlines()[-1])
            except Exception:  # report what we have; the consumer is killed below
                totals = None
        else:
            try:
                sink.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        if sink.poll() is None:
            sink.kill()
            sink.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    out["consumer"] = "strobe serve" if args.consumer == "serve" else "strobe_shm_sink"
    out["consumer_totals"] = totals
    out["consumer_ok"] = bool(totals) and totals["invalid"] == totals["malformed"] == 0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
