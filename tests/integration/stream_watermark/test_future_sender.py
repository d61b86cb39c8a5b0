"""One OTLP sender's clock runs 30 s ahead; another sends on time. The on-time sender's spans must
all be counted in windows and none of them be late (issue 15: a source's clock could drag the
watermark ahead and make everyone else's data late).

Two windows see the same spans: `strict` keeps the default max_future (5 s), so the spans 30 s
ahead are refused and counted as reason="future"; `lenient` lets them in (max_future 1m), so the
per-source watermark must keep them from closing the on-time sender's windows early."""

import http.client
import os
import time

from hostile import metric
import otlp_pb

CONFIG = """
stream:
  windows:
    - name: strict
      match: {kind: span}
      size: 1s
      group_by: [service.name]
      aggregations: [count]
      idle_timeout: 1s
    - name: lenient
      match: {kind: span}
      size: 1s
      group_by: [service.name]
      aggregations: [count]
      idle_timeout: 1s
      max_future: 1m
"""

AHEAD_SPANS = 20
ON_TIME_BATCHES = 15
ON_TIME_PER_BATCH = 8
ON_TIME_SPANS = ON_TIME_BATCHES * ON_TIME_PER_BATCH  # 120


def post_spans(otlp, service, end_ns_list):
    spans = [otlp_pb.span(os.urandom(16), os.urandom(8), None, "op", end - 1_000_000, end,
                          {"i": i}) for i, end in enumerate(end_ns_list)]
    body = otlp_pb.traces_request({"service.name": service}, spans)
    host, port = otlp.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("POST", "/v1/traces", body=body,
                     headers={"Content-Type": "application/x-protobuf"})
        r = conn.getresponse()
        r.read()
        assert r.status == 200, r.status
    finally:
        conn.close()


def window_counts(d, window, service):
    """Sum of `count` over the closed windows of `window` for `service` (window events)."""
    events = d.get_json("/api/v1/stream/events?type=window")["events"]
    return sum(e["values"]["count"] for e in events
               if e["window"] == window and e["labels"].get("service.name") == service)


def test_future_sender_does_not_make_on_time_data_late(daemon):
    d = daemon(config_text=CONFIG, otlp_http="127.0.0.1:0")
    otlp = d.wait_otlp()

    # The sender 30 s ahead goes first.
    now = time.time_ns()
    post_spans(otlp, "ahead", [now + 30_000_000_000 + i for i in range(AHEAD_SPANS)])
    d.poll(lambda: metric(d, "strobe_stream_events_total", window="lenient") == AHEAD_SPANS,
           "the lenient window took the 30 s-ahead spans", timeout=15)

    # The on-time sender: a batch every 200 ms for 3 s, each span ending just now. The daemon's
    # ticker runs several times meanwhile, so a watermark dragged ahead would make them late.
    for _ in range(ON_TIME_BATCHES):
        now = time.time_ns()
        post_spans(otlp, "ontime", [now - 1000 * i for i in range(ON_TIME_PER_BATCH)])
        time.sleep(0.2)  # pacing of the sender, not synchronisation

    # Every on-time span is counted in a closed window of both rules (the idle timeout closes
    # the last ones once the senders stop).
    # (A late span ends the wait early: the result is decided.)
    for window in ("strict", "lenient"):
        def late():
            return metric(d, "strobe_stream_dropped_events_total", window=window, reason="late")
        d.poll(lambda: window_counts(d, window, "ontime") >= ON_TIME_SPANS or late() > 0,
               "%s windows hold every on-time span" % window, timeout=20)
        assert (window, late()) == (window, 0)
        assert (window, window_counts(d, window, "ontime")) == (window, ON_TIME_SPANS)
        assert metric(d, "strobe_stream_dropped_events_total", window=window,
                      reason="key_limit") == 0

    # strict refused the spans 30 s ahead (counted, not clamped into a window); lenient holds them
    # in windows that close when their time comes.
    assert metric(d, "strobe_stream_dropped_events_total", window="strict",
                  reason="future") == AHEAD_SPANS
    assert metric(d, "strobe_stream_events_total", window="strict") == ON_TIME_SPANS
    assert metric(d, "strobe_stream_dropped_events_total", window="lenient", reason="future") == 0
    assert metric(d, "strobe_stream_events_total", window="lenient") == ON_TIME_SPANS + AHEAD_SPANS
    assert window_counts(d, "lenient", "ahead") == 0
    # Each window's watermark tracks the two senders it took items from.
    assert metric(d, "strobe_stream_watermark_sources", window="lenient") == 2
    assert metric(d, "strobe_stream_watermark_sources", window="strict") == 1
    assert metric(d, "strobe_stream_watermark_sources_evicted_total", window="lenient") == 0
    # The watermark never passes the wall clock, whatever the sender 30 s ahead claims.
    assert metric(d, "strobe_stream_watermark_timestamp_seconds", window="lenient") <= time.time()
