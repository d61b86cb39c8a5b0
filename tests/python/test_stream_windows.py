"""Stream windows over metric points a Python program sends through shm (issue 15).

The shm receiver pushes counters and histograms as cumulative points (the total since the
series started). A window must aggregate what happened during it: a counter's increase, a
histogram's observations. Known observations go into a real `strobe serve` with session windows
over them; the window results must have the exact count, sum and rate, and quantiles within
1% (libstrobe's buckets are within 0.55%).
"""

import os
import pathlib
import sys
import uuid

import pytest

import strobe

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "daemon"))
from strobe_proc import Daemon  # noqa: E402

BUILD = pathlib.Path(os.environ.get("STROBE_BUILD_DIR", ROOT / "build" / "release"))

# Session windows: each closes `gap` after its last point, whatever the wall clock says, so the
# test needs no alignment to window boundaries. idle_timeout lets the watermark move on once
# the points stop.
CONFIG = """\
stream:
  windows:
    - name: py_lat
      match: py_win_latency
      type: session
      gap: 3s
      idle_timeout: 1s
      aggregations: [count, sum, rate, p50, p99, max]
    - name: py_req
      match: py_win_requests_total
      type: session
      gap: 3s
      idle_timeout: 1s
      group_by: [method]
      aggregations: [count, sum, increase, rate]
"""


def _strobe_binary():
    path = os.environ.get("STROBE_BINARY") or str(BUILD / "bin" / "strobe")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not built (set STROBE_BINARY or build the strobe target)")
    return path


def _window_events(d):
    return [e for e in d.get_json("/api/v1/stream/events?type=window")["events"]]


def test_windows_over_python_counters_and_histograms_are_exact():
    ring = "py" + uuid.uuid4().hex[:10]
    d = Daemon(_strobe_binary(), args=["--shm", ring], config_text=CONFIG)
    try:
        d.wait_port()
        d.wait_ready()
        with strobe.connect(ring, d.shm_dir) as conn:
            latency = conn.histogram("py_win_latency")
            requests = conn.counter("py_win_requests_total", labelnames=["method"])
            get, post = requests.labels("GET"), requests.labels("POST")
            # Two rounds of 1..1000: 2,000 observations summing to 1,001,000; each round is
            # pushed as one cumulative point (count 1,000, then 2,000).
            for _ in range(2):
                for v in range(1, 1001):
                    latency.record(float(v))
                conn.flush(timeout=10)
            # Cumulative GET 7, 12, 42 and POST 100, 101: increases 7+5+30 and 100+1.
            for g, p in ((7, 100), (5, 1), (30, 0)):
                get.inc(g)
                if p:
                    post.inc(p)
                conn.flush(timeout=10)

        lat = d.poll(lambda: [e for e in _window_events(d) if e["window"] == "py_lat"],
                     "the session window over the Python histogram to close")
        assert len(lat) == 1, lat  # one session: every point within `gap` of the previous
        v = lat[0]["values"]
        seconds = (lat[0]["end_ns"] - lat[0]["start_ns"]) / 1e9
        assert v["count"] == 2000, v  # observations, not the sum of cumulative counts
        assert v["sum"] == 1001000, v
        assert v["rate"] == pytest.approx(2000 / seconds, rel=1e-9), (v, seconds)
        # The 1,000th and 1,980th of 1,1,2,2,...,1000,1000.
        assert v["p50"] == pytest.approx(500, rel=0.01), v
        assert v["p99"] == pytest.approx(990, rel=0.01), v
        assert v["max"] == 1000, v

        def counter_windows():
            req = {e["labels"].get("method"): e for e in _window_events(d)
                   if e["window"] == "py_req"}
            return req if "GET" in req and "POST" in req else None

        req = d.poll(counter_windows, "the session windows over the Python counter to close")
        for method, increase, points in (("GET", 42, 3), ("POST", 101, 2)):
            e = req[method]
            v = e["values"]
            seconds = (e["end_ns"] - e["start_ns"]) / 1e9
            assert v["sum"] == increase, (method, v)
            assert v["increase"] == increase, (method, v)
            assert v["count"] == points, (method, v)  # points that carried an increase
            # The increase per second, not points per second.
            assert v["rate"] == pytest.approx(increase / seconds, rel=1e-9), (method, v, seconds)

        status, _, text = d.request("GET", "/metrics")
        assert status == 200
        assert "strobe_stream_metric_series 3" in text.splitlines(), \
            [l for l in text.splitlines() if l.startswith("strobe_stream_metric")]
    finally:
        d.stop()
