"""Hole 5: a daemon restart lost every running producer's metrics. A restarted daemon resumed
each ring where the old one stopped but had never seen the series definitions, so every later
metric record was dropped as unknown_series until the producer restarted, while the
producer's flush() reported success. Now the definitions survive (the definitions log in the
producer's segment, replayed by the new daemon), and a flush reports what the daemon refused
(strobe.DataLossError) or could not confirm (TimeoutError) instead of succeeding.

On d11632b (with its Python package) the restarted daemon never showed the later values
("timed out waiting for restart_requests_total == 9"): every point after the restart was
dropped as unknown_series while flush() returned normally.
"""

import signal
import uuid

import numpy as np
import pytest
import strobe

from hostile import assert_serving, metric


def unknown_series(d):
    return metric(d, "strobe_shm_invalid_records_total", reason="unknown_series")


def test_a_restarted_daemon_keeps_the_producers_series(daemon):
    ring = "h" + uuid.uuid4().hex[:10]
    first = daemon(args=["--shm", ring])
    conn = strobe.connect(ring, first.shm_dir)
    try:
        ok = conn.counter("restart_requests_total", labelnames=["code"]).labels("200")
        level = conn.gauge("restart_level")
        latency = conn.histogram("restart_latency_seconds")
        ok.inc(5)
        level.set(1.5)
        latency.record(0.25)
        conn.flush(timeout=10)
        first.poll(lambda: metric(first, "restart_requests_total", code="200") == 5,
                   "restart_requests_total == 5 on the first daemon", timeout=10)

        first.signal(signal.SIGTERM)
        assert first.wait_exit(timeout=20) == 0, first.read_log()[-2000:]

        # No daemon: what is written now waits in the ring, and a flush cannot be confirmed,
        # so it must fail rather than succeed.
        ok.inc(2)
        with pytest.raises(TimeoutError):
            conn.flush(timeout=0.3)

        # A new daemon on the same directory and ring; the producer keeps writing the same
        # series without reconnecting.
        second = daemon(args=["--shm", ring], env={"STROBE_SHM_DIR": first.shm_dir})
        ok.inc(7)
        level.set(9.75)
        latency.record(0.5)
        latency.record(1.5)
        conn.flush(timeout=10)  # acknowledged, nothing refused: no DataLossError
        second.poll(lambda: metric(second, "restart_requests_total", code="200") == 9,
                    "restart_requests_total == 9 (2 written while down + 7)", timeout=10)
        second.poll(lambda: metric(second, "restart_latency_seconds_count") == 2,
                    "restart_latency_seconds_count == 2", timeout=10)
        assert metric(second, "restart_level") == 9.75
        assert metric(second, "restart_latency_seconds_sum") == 2.0
        assert unknown_series(second) == 0

        # A point for a series the daemon never saw is refused, and the flush says so.
        conn.batch(np.array([0xDEAD], dtype=np.uint64), np.array([1.0]), kind="gauge")
        with pytest.raises(strobe.DataLossError, match="refused 1 record"):
            conn.flush(timeout=10)
        second.poll(lambda: unknown_series(second) == 1, "one unknown_series counted",
                    timeout=10)
        # The next flush covers only what came after: clean again.
        ok.inc(1)
        conn.flush(timeout=10)
        second.poll(lambda: metric(second, "restart_requests_total", code="200") == 10,
                    "restart_requests_total == 10", timeout=10)
        assert metric(second, "restart_level") == 9.75
        assert unknown_series(second) == 1
        assert_serving(second)
    finally:
        conn.close()
