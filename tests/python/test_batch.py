"""The numpy batch API: BATCH records read in place from the arrays."""

import numpy as np
import pytest


def batch_entries(records):
    out = []
    for r in records:
        assert r["type"] == "batch"
        out += list(zip([r["kind"]] * len(r["values"]), r["series"], r["ts"], r["values"]))
    return out


def test_single_series_batch_with_timestamps(conn, dump):
    h = conn.histogram("sizes")
    conn.flush()
    dump.until_ping()
    values = np.array([1.5, 2.5, -3.0, 1e-9])
    ts = np.array([10, 20, 30, 40], dtype=np.int64)
    assert h.record_many(values, ts) == 4
    conn.flush()
    assert batch_entries(dump.until_ping()) == [
        (3, h.series_id, 10, 1.5), (3, h.series_id, 20, 2.5), (3, h.series_id, 30, -3.0),
        (3, h.series_id, 40, 1e-9)]


def test_series_id_array_batch_and_conversions(conn, dump):
    g = conn.gauge("temp", labelnames=["room"])
    a, b = g.labels(room="a"), g.labels(room="b")
    conn.flush()
    dump.until_ping()
    ids = np.array([a.series_id, b.series_id, a.series_id], dtype=np.uint32)  # converted
    vals = np.array([1, 2, 3], dtype=np.int16)  # converted to float64
    assert conn.batch(ids, vals, kind="gauge") == 3
    conn.flush()
    assert batch_entries(dump.until_ping()) == [
        (2, a.series_id, 0, 1.0), (2, b.series_id, 0, 2.0), (2, a.series_id, 0, 3.0)]


def test_non_contiguous_and_large_batches_are_exact(conn, dump):
    h = conn.histogram("big")
    conn.flush()
    dump.until_ping()
    base = np.arange(20000, dtype=np.float64)
    strided = base[::2]  # not contiguous: copied once, values intact
    assert h.record_many(strided) == 10000
    conn.flush()
    entries = batch_entries(dump.until_ping())
    assert [e[3] for e in entries] == list(strided)
    assert len(entries) == 10000


def test_batch_errors(conn):
    h = conn.histogram("h")
    with pytest.raises(TypeError, match="dtype"):
        h.record_many(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="dtype"):
        h.record_many(np.array([1 + 2j]))
    with pytest.raises(TypeError, match="dtype"):
        h.record_many(np.array([True, False]))
    with pytest.raises(TypeError, match="dtype"):
        h.record_many(np.array([object()]))
    with pytest.raises(ValueError, match="1-D"):
        h.record_many(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="1-D"):
        h.record_many(np.float64(1.0))
    with pytest.raises(ValueError, match="timestamps"):
        h.record_many(np.zeros(3), np.zeros(2, dtype=np.int64))
    with pytest.raises(TypeError, match="timestamps"):
        h.record_many(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="non-negative"):
        h.record_many(np.zeros(2), np.array([1, -1]))
    with pytest.raises(ValueError, match="kind"):
        conn.batch(np.array([1], dtype=np.uint64), np.zeros(1))
    with pytest.raises(ValueError, match="kind"):
        conn.batch(np.array([1], dtype=np.uint64), np.zeros(1), kind="summary")
    with pytest.raises(ValueError, match="series_ids"):
        conn.batch(np.array([1, 2], dtype=np.uint64), np.zeros(3), kind="gauge")
    with pytest.raises(ValueError, match="non-negative"):
        conn.batch(np.array([-1]), np.zeros(1), kind="gauge")
    with pytest.raises(TypeError, match="series_ids"):
        conn.batch(np.array([1.0]), np.zeros(1), kind="gauge")
    with pytest.raises(ValueError, match="does not match"):
        conn.batch(h, np.zeros(1), kind="gauge")
    with pytest.raises(ValueError, match="label"):
        conn.histogram("lab", labelnames=["x"]).record_many(np.zeros(1))
    assert h.record_many(np.zeros(0)) == 0


def test_million_values_exact_through_sink(sink):
    conn = sink.connect(policy="spin", capacity_bytes=1 << 24, spin_limit=1 << 32)
    h = conn.histogram("bulk")
    values = np.arange(1_000_000, dtype=np.float64)
    assert h.record_many(values) == 1_000_000
    conn.flush(timeout=10)
    conn.close()
    totals = sink.stop()
    assert totals["batch_values"] == 1_000_000
    assert totals["value_sum"] == float(values.sum())
    assert totals["invalid"] == totals["malformed"] == totals["producer_dropped"] == 0
