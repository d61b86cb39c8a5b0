"""Hole 9: connection exhaustion. 1,024 idle connections (nothing sent) locked `/healthz`,
`/metrics` and OTLP ingest out for the whole head timeout. Now a new connection evicts the one
that has waited longest for a request head, a reserved share of the connections answers
health and metrics while every other connection is busy with a request, a per-address limit
is available, and every drop is counted by reason on its listener
(strobe_http_dropped_connections_total{listener,reason}).

On d11632b all three fail: with 1,024 idle connections open, GET /healthz was reset at
accept (no answer; the idle ones stay until the head timeout); with a limit of 32, no idle
connection was ever evicted ("closed 0 of the expected 8"); the per-client limit was ignored
(all six connections of one address stayed open).
"""

import selectors
import socket
import time

from hostile import assert_serving, listener_caught_up, metric, otlp_json_gauge, status_of

REASONS = ("max_connections", "evicted", "per_client_limit", "reserved_only")


def dropped(d, listener):
    return {r: metric(d, "strobe_http_dropped_connections_total", listener=listener, reason=r)
            for r in REASONS}


def delta(after, before):
    return {r: after[r] - before[r] for r in REASONS}


def wait_counted(d, listener, socks, before, timeout=5.0):
    """Polls until the sockets of `socks` the server closed are exactly as many as `listener`
    counted as evicted since `before`. The counter is read first and the sockets checked after:
    reading the counter is itself a connection to the API listener, which may evict one more
    idle connection (counted before its answer), so the other order would race with itself."""
    deadline = time.monotonic() + timeout
    while True:
        evicted = int(delta(dropped(d, listener), before)["evicted"])
        closed = closed_by_server(socks, 0.05)
        if len(closed) == evicted:
            return closed
        assert time.monotonic() < deadline, (listener, len(closed), evicted)


def connect(port, source="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def closed_by_server(socks, timeout=0.0):
    """Indices of the sockets in `socks` the server has closed (EOF or reset); waits at most
    `timeout` for the first event."""
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ, i)
    closed = set()
    try:
        for key, _ in sel.select(timeout):
            try:
                data = key.fileobj.recv(1, socket.MSG_PEEK)
            except (ConnectionResetError, BlockingIOError):
                data = b""
            if not data:
                closed.add(key.data)
    finally:
        sel.close()
    return closed


def wait_closed(socks, count, timeout=5.0):
    """Polls until exactly `count` of `socks` are closed by the server (fails if more are, or
    fewer within `timeout`); returns their indices."""
    deadline = time.monotonic() + timeout
    while True:
        closed = closed_by_server(socks, 0.05)
        assert len(closed) <= count, (len(closed), count)
        if len(closed) == count:
            return closed
        assert time.monotonic() < deadline, ("closed %d of the expected %d" % (len(closed), count))


def timed_request(d, path, port=None, budget=2.0):
    """GET `path` on a fresh connection; returns (status, seconds) and fails past `budget`."""
    t0 = time.monotonic()
    s = connect(port or d.port)
    try:
        s.settimeout(budget)
        s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                reply += b
        except socket.timeout:
            raise AssertionError("GET %s: no answer within %.1f s (%r)" % (path, budget,
                                                                         reply[:100]))
        return status_of(reply), time.monotonic() - t0
    finally:
        s.close()


def test_1024_idle_connections_do_not_lock_out_health_metrics_or_ingest(daemon):
    d = daemon(otlp_http="127.0.0.1:0")
    otlp = int(d.wait_otlp().rsplit(":", 1)[1])
    api_before, otlp_before = dropped(d, "http"), dropped(d, "otlp_http")
    otlp_json_gauge(otlp, "good_level", 1.0, {"client": "good"})

    # The attacker: 1,024 connections to each listener (the default max_connections), from
    # another loopback address, sending nothing. They must all be used within the 10 s head
    # timeout, so the test runs in a few seconds.
    started = time.monotonic()
    api_idle = [connect(d.port, "127.0.0.2") for _ in range(1024)]
    otlp_idle = [connect(otlp, "127.0.0.2") for _ in range(1024)]

    status, took = timed_request(d, b"/healthz")
    assert status == 200, status
    status, took = timed_request(d, b"/metrics")
    assert status == 200, status
    status, took = timed_request(d, b"/api/v1/status")
    assert status == 200, status
    # OTLP ingest still works, and the value arrives exactly.
    assert otlp_json_gauge(otlp, "good_level", 7.25, {"client": "good"}, timeout=2) == 200
    d.poll(lambda: metric(d, "good_level", client="good") == 7.25, "good_level == 7.25",
           timeout=5)

    # Every connection the listeners dropped is counted once, by reason, on its own listener:
    # the idle ones were evicted (none refused at accept), and the sockets the server closed
    # are exactly as many as it counted.
    api = delta(dropped(d, "http"), api_before)
    otl = delta(dropped(d, "otlp_http"), otlp_before)
    assert api["evicted"] >= 16 and otl["evicted"] >= 16, (api, otl)
    assert (api["max_connections"], api["per_client_limit"]) == (0, 0), api
    assert (otl["max_connections"], otl["per_client_limit"]) == (0, 0), otl
    wait_counted(d, "http", api_idle, api_before)
    wait_counted(d, "otlp_http", otlp_idle, otlp_before)
    assert time.monotonic() - started < 9, "too slow to show anything before the head timeout"
    for s in api_idle + otlp_idle:
        s.close()
    assert_serving(d)


def test_reserved_share_and_max_connections_with_a_small_limit(daemon):
    d = daemon(env={"STROBE_SERVER_MAX_CONNECTIONS": "32",
                    "STROBE_SERVER_RESERVED_CONNECTIONS": "8"})
    before = dropped(d, "http")
    idle = [connect(d.port, "127.0.0.2") for _ in range(32)]
    # 32 idle connections: the last 8 evicted the 8 oldest (all but the reserved are open).
    closed = wait_closed(idle, 8)
    assert closed == set(range(8)), sorted(closed)
    for s in idle:
        s.close()
    d.poll(lambda: metric(d, "strobe_http_connections_open", listener="http") <= 1,
           "the idle connections closed", timeout=5)

    # 24 connections busy with a request (head sent, body pending): not evictable.
    busy = [connect(d.port, "127.0.0.2") for _ in range(24)]
    for s in busy:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
    d.poll(lambda: listener_caught_up(d.port), "24 busy connections", timeout=5)
    # Health and metrics still answer, on the reserved share; other paths get 503.
    status, _ = timed_request(d, b"/healthz")
    assert status == 200, status
    status, _ = timed_request(d, b"/metrics")
    assert status == 200, status
    status, _ = timed_request(d, b"/api/v1/status")
    assert status == 503, status
    # Fill the reserved share with busy connections too, one at a time (a reserved connection
    # still waiting for its head may itself be evicted by the next): the next connection is
    # closed at accept.
    more = []
    for _ in range(8):
        more.append(connect(d.port, "127.0.0.2"))
        more[-1].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
        d.poll(lambda: listener_caught_up(d.port), "a busy reserved connection", timeout=5)
    extra = connect(d.port, "127.0.0.2")
    wait_closed([extra], 1)
    extra.close()
    # The busy clients finish their requests: all 200.
    for s in busy + more:
        s.sendall(b"0123456789")
        assert status_of(s.recv(65536)) == 200
        s.close()
    got = delta(dropped(d, "http"), before)
    assert got == {"max_connections": 1, "evicted": 8, "per_client_limit": 0,
                   "reserved_only": 1}, got
    assert_serving(d)


def test_max_connections_per_client(daemon):
    d = daemon(env={"STROBE_SERVER_MAX_CONNECTIONS_PER_CLIENT": "4"})
    before = dropped(d, "http")
    attacker = [connect(d.port, "127.0.0.2") for _ in range(6)]
    # The two past the limit are closed at accept; the first four stay open.
    assert wait_closed(attacker, 2) == {4, 5}
    # Another address is not affected.
    status, _ = timed_request(d, b"/healthz")
    assert status == 200, status
    status, _ = timed_request(d, b"/api/v1/status")
    assert status == 200, status
    got = delta(dropped(d, "http"), before)
    assert got == {"max_connections": 0, "evicted": 0, "per_client_limit": 2,
                   "reserved_only": 0}, got
    for s in attacker:
        s.close()
    assert_serving(d)
