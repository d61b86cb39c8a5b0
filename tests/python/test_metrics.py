"""Counters, gauges, histograms, labels and timers: what the C++ reader decodes is exactly what
Python wrote."""

import math
import os

import pytest

import strobe


def defines(records):
    return {r["series"]: r for r in records if r["type"] == "define"}


def test_counter_exact_deltas_and_definition(conn, dump):
    c = conn.counter("requests_total", "requests served")
    for _ in range(1000):
        c.inc()
    c.inc(5)
    c.inc(0)
    c.inc(2**64 - 1)
    conn.flush()
    recs = dump.until_ping()
    d = defines(recs)
    assert d[c.series_id]["name"] == "requests_total"
    assert d[c.series_id]["kind"] == 1
    assert d[c.series_id]["labels"] == {}
    deltas = [r["delta"] for r in recs if r["type"] == "counter"]
    assert all(r["series"] == c.series_id for r in recs if r["type"] == "counter")
    assert deltas == [1] * 1000 + [5, 0, 2**64 - 1]
    assert conn.dropped_records == 0


def test_labels_children_are_cached_and_defined_once(conn, dump):
    req = conn.counter("http_requests_total", labelnames=("method", "code"))
    get = req.labels(method="GET", code="200")
    assert req.labels("GET", "200") is get
    assert req.with_labels(code=200, method="GET") is get  # values are str()-ed
    post = req.labels(method="POST", code="500")
    assert post.series_id != get.series_id
    get.inc()
    get.inc(2)
    post.inc(7)
    conn.flush()
    recs = dump.until_ping()
    d = defines(recs)
    assert [r["type"] for r in recs].count("define") == 2
    assert d[get.series_id]["labels"] == {"method": "GET", "code": "200"}
    assert d[post.series_id]["labels"] == {"method": "POST", "code": "500"}
    sums = {}
    for r in recs:
        if r["type"] == "counter":
            sums[r["series"]] = sums.get(r["series"], 0) + r["delta"]
    assert sums == {get.series_id: 3, post.series_id: 7}
    assert repr(get) == "Counter('http_requests_total', method='GET', code='200')"


def test_same_series_reuses_its_id(conn, dump):
    a = conn.histogram("lat_ns", labelnames=["op"]).labels(op="read")
    b = strobe.Histogram("lat_ns", labelnames=["op"], connection=conn).labels(op="read")
    assert a.series_id == b.series_id
    c1 = conn.counter("x_total")
    c2 = conn.counter("x_total")
    assert c1.series_id == c2.series_id
    conn.flush()
    assert [r["type"] for r in dump.until_ping()].count("define") == 2


def test_label_misuse(conn):
    req = conn.counter("m_total", labelnames=["method"])
    with pytest.raises(ValueError, match="labels"):
        req.inc()
    with pytest.raises(ValueError):
        req.labels(path="/")
    with pytest.raises(ValueError):
        req.labels("a", "b")
    with pytest.raises(ValueError):
        req.labels("a", method="b")
    with pytest.raises(ValueError):
        req.labels("a").labels("b")
    with pytest.raises(ValueError):
        conn.counter("plain_total").labels("x")
    with pytest.raises(TypeError):
        conn.counter("s_total", labelnames="method")
    with pytest.raises(ValueError):
        conn.counter("d_total", labelnames=["a", "a"])
    with pytest.raises(ValueError):
        conn.counter("")
    with pytest.raises(TypeError):
        conn.counter(42)
    with pytest.raises(ValueError):
        conn.counter("n\0ul")
    with pytest.raises(ValueError):
        req.labels("bad\0value")


def test_counter_argument_errors(conn):
    c = conn.counter("e_total")
    with pytest.raises(ValueError, match=">= 0"):
        c.inc(-1)
    with pytest.raises(ValueError, match="non-negative"):
        c.inc(-1.5)
    with pytest.raises(ValueError, match="finite"):
        c.inc(float("inf"))
    with pytest.raises(ValueError):
        c.inc(float("nan"))
    with pytest.raises(ValueError, match="2\\*\\*64"):
        c.inc(2.0**64)
    with pytest.raises(TypeError):
        c.inc(None)
    with pytest.raises(TypeError):
        c.inc("1")
    with pytest.raises(TypeError):
        c.inc(1, 2)
    with pytest.raises(OverflowError):
        c.inc(2**64)


def test_counter_float_increments_on_the_ring(conn, dump):
    """A whole float is a COUNTER_ADD (every daemon reads it); a fraction is a one-entry
    BATCH of kind counter, which the daemon adds exactly."""
    import numpy as np

    c = conn.counter("f_total")
    c.inc(2.0)
    c.inc(1.5)
    c.inc(np.float32(0.25))
    conn.flush()
    recs = [r for r in dump.until_ping() if r["type"] in ("counter", "batch")]
    assert recs[0]["type"] == "counter" and recs[0]["delta"] == 2
    assert [(r["type"], r["kind"], r["series"], r["values"]) for r in recs[1:]] == [
        ("batch", 1, [c.series_id], [1.5]), ("batch", 1, [c.series_id], [0.25])]


def test_description_unit_and_buckets_go_in_the_definition(conn, dump):
    """The C++ reader decodes the definition's metadata block exactly as Python wrote it; a
    metric without any keeps the original record (meta_version absent)."""
    h = conn.histogram("lat", "Latency.", ["op"], unit="seconds", buckets=[0.5, 1, 2.5])
    child = h.labels("get")
    c = conn.counter("plain_total")
    g = conn.gauge("mem", unit="mebibytes")
    conn.flush()
    d = defines(dump.until_ping())
    assert d[child.series_id]["meta_version"] == 1
    assert d[child.series_id]["description"] == "Latency."
    assert d[child.series_id]["unit"] == "s"
    assert d[child.series_id]["bounds"] == [0.5, 1.0, 2.5]
    assert "meta_version" not in d[c.series_id]
    assert (d[g.series_id]["unit"], d[g.series_id]["description"]) == ("MiBy", "")
    assert child.buckets == (0.5, 1.0, 2.5) and child.unit == "seconds"
    with pytest.raises(ValueError):
        conn.counter("x_total", "bad\0help")
    with pytest.raises(TypeError):
        conn.histogram("h2", buckets="0.1")
    with pytest.raises(TypeError):
        conn.counter("y_total", unit=5)


def test_gauge_set_inc_dec(conn, dump):
    g = conn.gauge("queue_depth", labelnames=["q"]).labels(q="jobs")
    g.set(10)
    g.inc()
    g.inc(2.5)
    g.dec(0.5)
    g.set(float("nan"))  # gauges may carry NaN; the daemon decides
    assert math.isnan(g.value)
    conn.flush()
    values = [r["value"] for r in dump.until_ping() if r["type"] == "gauge"]
    assert values[:4] == [10.0, 11.0, 13.5, 13.0]
    assert len(values) == 5
    with pytest.raises(TypeError):
        g.set("3")
    with pytest.raises(TypeError):
        g.set(None)


def test_histogram_record_observe(conn, dump):
    h = conn.histogram("latency_seconds")
    samples = [0.001, 0.25, 3, 1e300, -2.0]
    for s in samples[:3]:
        h.record(s)
    h.observe(samples[3])
    h.record(samples[4])
    conn.flush()
    recs = [r for r in dump.until_ping() if r["type"] == "histogram"]
    assert [r["value"] for r in recs] == [float(s) for s in samples]
    assert {r["series"] for r in recs} == {h.series_id}
    assert all(r["ts"] == 0 for r in recs)  # stamped by the daemon on receipt
    for bad in (float("inf"), float("-inf"), float("nan")):
        with pytest.raises(ValueError, match="finite"):
            h.record(bad)
    with pytest.raises(TypeError):
        h.record("1")
    with pytest.raises(TypeError):
        h.record(None)


def test_timer_context_manager_and_decorator(conn, dump):
    h = conn.histogram("work_ns")
    with h.timer() as t:
        sum(range(1000))
    assert t.elapsed_ns > 0

    @h.timer()
    def work(x):
        return x * 2

    assert work(21) == 42
    assert work.__name__ == "work"
    with pytest.raises(KeyError):
        with h.timer(scale=1e-9):
            raise KeyError("boom")  # the sample is still recorded, the exception propagates
    conn.flush()
    values = [r["value"] for r in dump.until_ping() if r["type"] == "histogram"]
    assert len(values) == 3
    assert values[0] == float(t.elapsed_ns)
    assert 0 < values[1] < 1e9
    assert 0 < values[2] < 1.0  # seconds
    with pytest.raises(ValueError):
        h.timer(scale=0)
    with pytest.raises(TypeError):
        strobe.Timer(conn.counter("c_total"))
    labelled = conn.histogram("lh", labelnames=["a"])
    with pytest.raises(ValueError):
        labelled.timer()


def test_default_connection_module_api(dump):
    c = dump.connect()
    try:
        assert strobe.default_connection() is c
        hits = strobe.Counter("hits_total")
        hits.inc(3)
        strobe.event("started", version="1.0")
        with strobe.span("job"):
            pass
        c.flush()
        types = [r["type"] for r in dump.until_ping()]
        assert types == ["define", "counter", "event", "span"]
    finally:
        c.close()
    with pytest.raises(strobe.ConnectionClosed):
        strobe.default_connection()
    with pytest.raises(strobe.ConnectionClosed):
        strobe.Counter("after_close_total")


def test_counts_through_strobe_shm_sink(sink):
    conn = sink.connect(policy="spin", spin_limit=1 << 32)  # exact counts even when descheduled
    c = conn.counter("bulk_total")
    h = conn.histogram("bulk_values")
    for i in range(100_000):
        c.inc()
        h.record(i)
    conn.flush()
    conn.close()
    totals = sink.stop()
    assert totals["counter"] == 100_000
    assert totals["counter_sum"] == 100_000
    assert totals["histogram"] == 100_000
    assert totals["value_sum"] == sum(range(100_000))
    assert totals["define"] == 2
    assert totals["invalid"] == totals["malformed"] == totals["producer_dropped"] == 0


def test_async_timer_decorator_measures_the_await(conn, dump):
    import asyncio

    h = conn.histogram("async_ns")

    @h.timer()
    async def slow():
        await asyncio.sleep(0.02)
        return "done"

    assert asyncio.run(slow()) == "done"
    conn.flush()
    (rec,) = [r for r in dump.until_ping() if r["type"] == "histogram"]
    assert rec["value"] >= 0.02e9


def test_with_a_daemon_older_than_metadata(tmp_path):
    """A daemon from before issue 15 writes a marker with only its pid. The package then leaves
    the definition metadata out (that daemon would refuse the whole definition) and refuses a
    fractional increment at the call (that daemon would refuse the entry)."""
    (tmp_path / "strobe-old.daemon").write_text(f"{os.getpid()}\n")
    with strobe.connect("old", str(tmp_path)) as conn:
        c = conn.counter("c_total", "Help.", unit="seconds")
        c.inc(2.0)  # whole: a COUNTER_ADD, which every daemon reads
        with pytest.raises(strobe.StrobeError, match="older than fractional"):
            c.inc(0.5)
        conn.histogram("h", buckets=[1, 2]).observe(1.5)
        with open(conn.path, "rb") as f:
            ring = f.read()
        assert b"Help." not in ring  # the definition went without its metadata block
