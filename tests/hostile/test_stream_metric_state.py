"""Issue 15: the stream engine keeps, per metric series, the last cumulative point to compute
deltas. That state is memory fed by untrusted producers: a local program defining thousands of
series must not grow it past `stream.metric_state.max_series`, the refused points must be
counted, a series that existed before the flood must keep exact window results, and idle
series must be forgotten so that room comes back.
"""

import strobe
from hostile import assert_serving, metric

CONFIG = """\
stream:
  metric_state: {max_series: 50, idle_ttl: 1s}
  windows:
    - name: by_client
      match: hostile_req_total
      type: session
      gap: 5s
      idle_timeout: 1s
      group_by: [client]
      aggregations: [count, sum]
"""


def _window(d, client):
    for e in d.get_json("/api/v1/stream/events?type=window")["events"]:
        if e["window"] == "by_client" and e["labels"].get("client") == client:
            return e
    return None


def test_metric_series_state_is_bounded_counted_and_evicted(daemon):
    d = daemon(args=["--shm", "hostile_ms"], config_text=CONFIG)
    with strobe.connect("hostile_ms", d.shm_dir) as conn:
        req = conn.counter("hostile_req_total", labelnames=["client"])
        legit = req.labels("legit")
        legit.inc(5)
        conn.flush(timeout=10)
        # 200 more series, one point each: 49 fit beside `legit`, 151 are refused.
        for i in range(200):
            req.labels("flood-%d" % i).inc()
        conn.flush(timeout=10)
        legit.inc(7)
        conn.flush(timeout=10)

        assert_serving(d)
        # flush() returns once the daemon took the points; the stream exporter runs after the
        # pipeline's batch processor.
        d.poll(lambda: metric(d, "strobe_stream_metric_points_dropped_total",
                              reason="limit") >= 151 or None, "151 refused points counted")
        assert metric(d, "strobe_stream_metric_series") == 50
        assert metric(d, "strobe_stream_metric_points_dropped_total", reason="limit") == 151
        assert 0 < metric(d, "strobe_stream_metric_series_bytes") < 1 << 20

        # The series that was there first is unaffected: increases 5 and 7 in one session.
        e = d.poll(lambda: _window(d, "legit"), "the legit client's window")
        assert e["values"] == {"count": 2, "sum": 12}, e

        # Idle series are forgotten (scanned every 10 s), and new series fit again.
        d.poll(lambda: metric(d, "strobe_stream_metric_series") == 0 or None,
               "idle metric series evicted", timeout=40)
        assert metric(d, "strobe_stream_metric_series_evicted_total") == 50
        late = req.labels("late")
        late.inc(3)
        conn.flush(timeout=10)
        e = d.poll(lambda: _window(d, "late"), "the window of a series defined after eviction")
        assert e["values"] == {"count": 1, "sum": 3}, e
        assert metric(d, "strobe_stream_metric_points_dropped_total", reason="limit") == 151
    assert_serving(d)
