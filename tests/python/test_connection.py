"""Connecting, closing, exceptions, round trips, back-pressure, fork and asyncio."""

import asyncio
import os
import threading
import time

import pytest

import strobe


def test_daemon_not_running(tmp_path):
    with pytest.raises(strobe.DaemonNotRunning, match="not running"):
        strobe.connect("nodaemon", str(tmp_path))
    assert issubclass(strobe.DaemonNotRunning, ConnectionError)
    assert issubclass(strobe.DaemonNotRunning, strobe.StrobeError)
    # A marker left by a dead daemon does not count.
    (tmp_path / "strobe-stale.daemon").write_text("999999999\n")
    with pytest.raises(strobe.DaemonNotRunning):
        strobe.connect("stale", str(tmp_path))
    assert list(tmp_path.glob("strobe-nodaemon-*")) == []
    # Writing without a daemon is allowed on request: the daemon picks the ring up later.
    with strobe.connect("later", str(tmp_path), require_daemon=False) as c:
        c.counter("x_total").inc()
        assert os.stat(c.path).st_mode & 0o777 == 0o600


def test_argument_errors(dump):
    with pytest.raises(ValueError, match="policy"):
        dump.connect(policy="block")
    with pytest.raises(ValueError, match="ring name"):
        strobe.connect("../etc", dump.dir)
    with pytest.raises(TypeError):
        strobe.connect(1, dump.dir)
    with pytest.raises(ValueError, match="power of two"):
        dump.connect(capacity_bytes=5000)
    with pytest.raises(TypeError):
        dump.connect(capacity_bytes="big")
    with pytest.raises(strobe.StrobeError):
        strobe.connect("x", "/nonexistent/dir", require_daemon=False)


def test_closed_connection_raises_everywhere(dump):
    conn = dump.connect()
    c = conn.counter("c_total")
    g = conn.gauge("g")
    h = conn.histogram("h")
    t = h.timer()
    t.__enter__()
    assert not conn.closed
    conn.close()
    conn.close()  # idempotent
    assert conn.closed
    for call in (c.inc, lambda: g.set(1), lambda: g.inc(), lambda: h.record(1.0),
                 lambda: t.__exit__(None, None, None), conn.flush, lambda: conn.span("s"),
                 lambda: conn.event("e"), lambda: conn.counter("new_total"),
                 lambda: conn.dropped_records,
                 lambda: asyncio.run(conn.aflush())):
        with pytest.raises(strobe.ConnectionClosed, match="closed"):
            call()
    assert "closed" in repr(conn)


def test_context_manager_closes_and_daemon_removes_segment(dump):
    with dump.connect() as conn:
        conn.counter("c_total").inc()
        path = conn.path
        conn.flush()
    assert conn.closed
    deadline = time.monotonic() + 10
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not os.path.exists(path)  # drained and reclaimed by the consumer


def test_ping_round_trip_and_flush_timeout(conn, dump):
    rtts = [conn.ping(timeout=10) for _ in range(50)]  # generous: CI runs tests in parallel
    assert all(r > 0 for r in rtts)
    dump.until_ping()
    dump.pause()
    try:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            conn.flush(timeout=0.2)
        assert 0.15 < time.monotonic() - start < 5
    finally:
        dump.resume()
    conn.flush()


def test_drop_policy_counts_and_never_raises(dump):
    conn = dump.connect(capacity_bytes=4096)
    c = conn.counter("d_total")
    conn.flush()
    dump.until_ping()  # the definition: what follows is only this test's increments
    dump.pause()
    try:
        for _ in range(1000):
            c.inc()  # 32-byte records: the 4 KiB ring fills after ~128
        dropped = conn.dropped_records
    finally:
        dump.resume()
    conn.flush()
    delivered = sum(r["delta"] for r in dump.until_ping() if r["type"] == "counter")
    # Every increment is either delivered or counted as dropped: none vanishes silently.
    assert delivered + dropped == 1000, (delivered, dropped)
    assert 0 < delivered < 1000 and conn.dropped_records == dropped
    conn.close()


def test_spin_policy_waits_for_the_consumer(sink):
    conn = sink.connect(policy="spin", capacity_bytes=4096, spin_limit=1 << 32)
    c = conn.counter("s_total")
    for _ in range(200_000):
        c.inc()
    conn.flush()
    assert conn.dropped_records == 0
    conn.close()
    assert sink.stop()["counter_sum"] == 200_000


def test_forked_child_cannot_write_the_parents_ring(conn, dump):
    c = conn.counter("fork_total")
    pid = os.fork()
    if pid == 0:  # child: every write must raise, nothing reaches the parent's ring
        code = 0
        try:
            c.inc()
            code = 1
        except strobe.ConnectionClosed as e:
            code = 0 if "fork" in str(e) else 2
        except BaseException:
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    c.inc(4)  # the parent's connection is intact
    conn.flush()
    recs = [r for r in dump.until_ping() if r["type"] == "counter"]
    assert [r["delta"] for r in recs] == [4]


def test_aflush_never_blocks_the_event_loop(conn, dump):
    async def main():
        ticks = 0
        stop = asyncio.Event()

        async def ticker():
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.001)

        t = asyncio.create_task(ticker())
        dump.pause()  # the consumer cannot acknowledge: aflush must wait without blocking
        try:
            with pytest.raises(TimeoutError):
                await conn.aflush(timeout=0.3)
        finally:
            dump.resume()
        paused_ticks = ticks
        conn.counter("a_total").inc(9)
        await conn.aflush(timeout=5)
        rtt = await conn.aping()
        stop.set()
        await t
        return paused_ticks, rtt

    paused_ticks, rtt = asyncio.run(main())
    assert paused_ticks >= 20  # ~300 ticks of 1 ms fit in the 0.3 s wait
    assert rtt > 0
    recs = dump.until_ping()
    assert recs == []  # first ping (timed out) arrives after resume...
    recs = dump.until_ping()
    assert [r["delta"] for r in recs if r["type"] == "counter"] == [9]


def test_fork_detaches_rings_only_handles_reference(dump):
    c = dump.connect().counter("orphan_total")  # the Connection object itself is gone
    pid = os.fork()
    if pid == 0:
        try:
            c.inc()
            os._exit(1)
        except strobe.ConnectionClosed:
            os._exit(0)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    c.inc(2)
    c._connection.flush()
    assert [r["delta"] for r in dump.until_ping() if r["type"] == "counter"] == [2]
    c._connection.close()


def test_threads_share_a_connection_exactly(sink):
    import threading

    conn = sink.connect(policy="spin", spin_limit=1 << 32)
    c = conn.counter("threads_total")

    def work():
        for _ in range(50_000):
            c.inc()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conn.flush()
    conn.close()
    totals = sink.stop()
    assert totals["counter_sum"] == 200_000
    assert totals["invalid"] == totals["malformed"] == 0


def test_two_connections_to_one_ring_in_one_process_both_arrive(sink):
    # The second connect() used to unlink the first one's segment (taken for a dead process's
    # leftover with our pid): the first connection's data and flushes then went nowhere.
    a = sink.connect()
    b = sink.connect()
    assert a.path != b.path and os.path.exists(a.path) and os.path.exists(b.path)
    a.counter("a_total").inc(3)
    b.counter("b_total").inc(4)
    a.flush(timeout=10)
    b.flush(timeout=10)
    a.close()
    b.close()
    assert sink.stop()["counter_sum"] == 7


def _fill_ring(dump):
    """A 4 KiB ring, its consumer paused and the ring full (increments dropped and counted)."""
    conn = dump.connect(capacity_bytes=4096, define_timeout=0.3)
    c = conn.counter("full_total")
    conn.flush()
    dump.until_ping()
    dump.pause()
    for _ in range(1000):
        c.inc()
    assert conn.dropped_records > 0
    return conn


def test_definition_on_a_full_ring_waits_define_timeout_then_raises_ring_full(dump):
    conn = _fill_ring(dump)
    try:
        start = time.monotonic()
        with pytest.raises(strobe.RingFull):
            conn.counter("another_total")
        assert 0.3 <= time.monotonic() - start < 5  # waited define_timeout, GIL released
    finally:
        dump.resume()
        conn.close()  # else it stays the module's default connection for later tests


class _NoRoomForPings:
    """Wraps a connection's ring: its first `refusals` PINGs find the ring full (RingFull, as
    the real ring does when the PING record does not fit); everything else is the real ring."""

    def __init__(self, ring, refusals):
        self._ring = ring
        self.refusals = refusals
        self.attempts = 0

    def ping(self):
        self.attempts += 1
        if self.refusals > 0:
            self.refusals -= 1
            raise strobe.RingFull("ping dropped: the ring is full")
        return self._ring.ping()

    def __getattr__(self, name):
        return getattr(self._ring, name)


def test_flush_waits_for_room_for_its_ping_then_raises_ring_full(conn):
    conn._ring = _NoRoomForPings(conn._ring, refusals=10**9)
    start = time.monotonic()
    with pytest.raises(strobe.RingFull):
        conn.flush(timeout=0.3)
    assert 0.3 <= time.monotonic() - start < 5  # waited its timeout (sleeping), then raised
    assert conn._ring.attempts > 1


def test_flush_writes_its_ping_once_the_ring_has_room(conn, dump):
    conn.counter("room_total").inc(3)
    conn._ring = _NoRoomForPings(conn._ring, refusals=3)  # the daemon drains meanwhile
    conn.flush(timeout=10)
    assert conn._ring.attempts == 4
    assert [r["delta"] for r in dump.until_ping() if r["type"] == "counter"] == [3]


def test_aflush_waits_for_room_for_its_ping_then_raises_ring_full(conn):
    conn._ring = _NoRoomForPings(conn._ring, refusals=10**9)
    start = time.monotonic()
    with pytest.raises(strobe.RingFull):
        asyncio.run(conn.aflush(timeout=0.3))
    assert 0.3 <= time.monotonic() - start < 5
    conn._ring = _NoRoomForPings(conn._ring._ring, refusals=3)
    asyncio.run(conn.aflush(timeout=10))
    assert conn._ring.attempts == 4
