"""Hole 5 (and item 7): a shm producer's flush reported success for data the daemon dropped.

Found by the soak: once one OTLP request with 70,000 distinct attribute keys has filled the
daemon's global key table, a Python producer that defines a series with a label key the table
has never seen gets its definition refused (the series cannot be stored without that label),
and every point of it is dropped as unknown_series. The producer's flush() must raise
strobe.DataLossError with the exact number of records refused, the refusal must be counted
under its real cause (key_table_full, not series_limit), and a series defined before the flood
keeps working: its flush succeeds when nothing of it was dropped, and its value is exact.
"""

import http.client
import os
import struct
import time

import pytest

import strobe
from hostile import assert_serving, metric

INVALID = "strobe_shm_invalid_records_total"
KEYS_REJECTED = "strobe_event_key_table_rejected_total"


# ---- just enough OTLP/protobuf for one span with many attributes -------------------------------

def _varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(num, payload):
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _kv(key, value):
    return _field(1, key.encode()) + _field(2, _field(1, value.encode()))  # string AnyValue


def _traces_request(keys):
    now = time.time_ns()
    span = (_field(1, os.urandom(16)) + _field(2, os.urandom(8)) + _field(5, b"flood") +
            _varint(7 << 3 | 1) + struct.pack("<Q", now) +
            _varint(8 << 3 | 1) + struct.pack("<Q", now) +
            b"".join(_field(9, _kv(k, "v")) for k in keys))
    resource = _field(1, _kv("service.name", "flood"))
    scope_spans = _field(2, span)
    return _field(1, _field(1, resource) + _field(2, scope_spans))


def _flood_keys_via_otlp(d, otlp_port, total=90_000, per_request=30_000):
    """Sends `total` distinct attribute keys in requests of `per_request` (each under 1 MiB)."""
    for start in range(0, total, per_request):
        body = _traces_request(["flood.k%d" % i for i in range(start, start + per_request)])
        c = http.client.HTTPConnection("127.0.0.1", otlp_port, timeout=30)
        try:
            c.request("POST", "/v1/traces", body=body,
                      headers={"Content-Type": "application/x-protobuf"})
            r = c.getresponse()
            assert r.status == 200, (r.status, r.read()[:200])
        finally:
            c.close()


def _key_table_refuses(d, conn, n):
    """Whether the daemon's key table refuses a key it has never seen: defines a probe series
    with a fresh label key and flushes (a refusal is reported by that flush, which also resets
    the connection's loss count before the measured step)."""
    before = metric(d, KEYS_REJECTED)
    counted = metric(d, INVALID)  # every reason
    conn.counter("probe_%d_total" % n, labelnames=["probe_key_%d" % n]).labels("x")
    try:
        conn.flush(timeout=10)
    except strobe.StrobeError:
        pass
    if metric(d, KEYS_REJECTED) == before:
        return False
    # Let the shm receiver publish the probe's refusal (next scan) before the measured step.
    d.poll(lambda: metric(d, INVALID) == counted + 1 or None,
           "the probe's refused definition counted", timeout=10)
    return True


def _fill_key_table(d, otlp_port, conn):
    """The soak's flood through OTLP. Should the OTLP receiver limit new keys per request or per
    client (issue 14, item 7), the table is topped up through a second shm series with thousands
    of label keys: what is under test is the flush once the table is full, not who filled it."""
    _flood_keys_via_otlp(d, otlp_port)
    for n in range(40):
        if _key_table_refuses(d, conn, n):
            return
        labels = ["fill%d_%d" % (n, i) for i in range(4000)]
        conn.counter("fill_%d_total" % n, labelnames=labels).labels(*["x"] * len(labels)).inc()
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

        _fill_key_table(d, otlp_port, conn)
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
