"""Hole 5 (and item 7): a shm producer's flush reported success for data the daemon dropped.

Found by the soak: once the daemon's global key table is full (one OTLP request with 70,000
distinct keys did it before item 7's per-client limits; now it takes many client addresses),
a Python producer that defines a series with a label key the table
has never seen gets its definition refused (the series cannot be stored without that label),
and every point of it is dropped as unknown_series. The producer's flush() must raise
strobe.DataLossError with the exact number of records refused, the refusal must be counted
under its real cause (key_table_full, not series_limit), and a series defined before the flood
keeps working: its flush succeeds when nothing of it was dropped, and its value is exact.
"""

import http.client
import os
import time

import pytest

import otlp_pb
import strobe
from hostile import assert_serving, metric

INVALID = "strobe_shm_invalid_records_total"
KEYS_REJECTED = "strobe_event_key_table_rejected_total"


def _traces_request(keys):
    """One span carrying every key of `keys` as an attribute."""
    now = time.time_ns()
    return otlp_pb.traces_request({"service.name": "flood"}, [otlp_pb.span(
        os.urandom(16), os.urandom(8), b"", "flood", now, now, {k: "v" for k in keys})])


def _send_keys(otlp_port, keys, source):
    """One OTLP/HTTP span carrying `keys` as attributes, sent from loopback address `source`."""
    c = http.client.HTTPConnection("127.0.0.1", otlp_port, timeout=30, source_address=(source, 0))
    try:
        c.request("POST", "/v1/traces", body=_traces_request(keys),
                  headers={"Content-Type": "application/x-protobuf"})
        r = c.getresponse()
        assert r.status == 200, (r.status, r.read()[:200])
    finally:
        c.close()


def _fill_key_table(d, otlp_port):
    """Fills the daemon's key table the slow way its per-client limits still allow (issue 14,
    item 7: at most 1,024 new keys per request and 4,096 per client address per hour): requests
    of 1,024 fresh keys from one loopback address after another, until the table refuses a key
    because it is full. What is under test is the flush once the table is full."""
    n = 0
    for host in range(2, 40):
        for _ in range(4):
            _send_keys(otlp_port, ["flood.k%d" % i for i in range(n, n + 1024)], "127.0.0.%d" % host)
            n += 1024
        # Every key sent is new and within the limits, so any refusal means the table is full
        # (summed over reasons: d11632b has no reason label).
        if metric(d, KEYS_REJECTED) > 0:
            return
    pytest.fail("the daemon's key table never filled (precondition of this test)")


def _series_value(d, name, **labels):
    return metric(d, name, **labels)


def test_flush_reports_records_refused_because_the_key_table_is_full(daemon):
    d = daemon(otlp_http="127.0.0.1:0")
    otlp_port = int(d.wait_otlp().rsplit(":", 1)[1])
    conn = strobe.connect(dir=d.shm_dir)
    try:
        # Another client's series, defined before the flood: it must keep working.
        before = conn.counter("before_total", labelnames=["customer"]).labels("alice")
        before.inc(10)
        conn.flush(timeout=10)
        d.poll(lambda: _series_value(d, "before_total", customer="alice") == 10 or None,
               "before_total{customer=alice} == 10")

        _fill_key_table(d, otlp_port)
        assert_serving(d)

        refused = {r: metric(d, INVALID, reason=r)
                   for r in ("key_table_full", "unknown_series", "series_limit")}
        # A new series whose label key the full table cannot take: 3 definitions, 100 points.
        after = conn.counter("after_total", labelnames=["brand_new_key"])
        for i in range(100):
            after.labels(str(i % 3)).inc()
        # (StrobeError, the base class: a build without DataLossError then fails on "DID NOT
        # RAISE", which is the hole, rather than on a missing name.)
        with pytest.raises(strobe.StrobeError, match="refused 103 record") as e:
            conn.flush(timeout=10)
        assert isinstance(e.value, strobe.DataLossError) and e.value.records == 103

        # Counted under the real cause, exactly (the flush was acknowledged after the counts
        # moved; the self-metrics are published at the next scan, within 100 ms).
        def deltas():
            now = {r: metric(d, INVALID, reason=r) - refused[r] for r in refused}
            return now if now["key_table_full"] + now["unknown_series"] >= 103 else None
        moved = d.poll(deltas, "the 103 refused records counted", timeout=10)
        assert moved == {"key_table_full": 3, "unknown_series": 100, "series_limit": 0}, moved

        # The series defined before keeps working; its flush succeeds (nothing of it dropped)
        # and its value is exact.
        before.inc(5)
        conn.flush(timeout=10)
        d.poll(lambda: _series_value(d, "before_total", customer="alice") == 15 or None,
               "before_total{customer=alice} == 15")
        assert metric(d, "after_total") == 0  # never stored under another identity
        assert_serving(d)
    finally:
        conn.close()
