"""Hole 6: memory not bounded. The memory limiter counted only pipeline batches: 40 connections
each holding 19.9 MiB of a 20 MiB body drove RSS to 876 MB with the limiter at 0 of 512 MiB, and
eight concurrent 64 KB gzip bombs (63 MiB inflated each) peaked at 506 MB. Now request bodies
being read, on every listener, and their decompressed output are charged to one ingress budget
(server.max_inflight_body_bytes) before they are allocated; past it a request gets 503 with
Retry-After, the refusal is counted, and RSS stays under the bound docs/security.md states
("Memory bound"):

    RSS <= baseline + ingress budget + pipeline memory_limiter hard limit
           + connections x per-connection overhead (+ slack for allocator and thread stacks)

This test runs both attacks against a daemon with a 64 MiB budget and a 32 MiB pipeline limiter,
samples its RSS throughout, and checks that bound, the 503s, their exact count, that a valid
client is served (or told to retry) in the middle of the attack, and that the daemon serves on.
"""

import gzip
import json
import select
import socket
import threading
import time

from hostile import assert_serving, metric, raw_exchange, rss_bytes, status_of

MiB = 1024 * 1024
BUDGET = 64 * MiB            # server.max_inflight_body_bytes
LIMITER_HARD = 32 * MiB      # the pipeline's memory_limiter hard_limit
PER_CONNECTION = 330 * 1024  # per-connection overhead stated in docs/security.md
SLACK = 32 * MiB             # allocator and thread-stack slack stated in docs/security.md
HOLDERS_PER_PORT = 20        # x 2 ports = 40 connections
BODY = 20 * MiB
SENT = BODY - MiB // 10      # 19.9 MiB of the 20 MiB announced
BOMBS = 8

CONFIG = """
receivers:
  otlp_http: {endpoint: "127.0.0.1:0"}
processors:
  memory_limiter: {soft_limit: 24MiB, hard_limit: 32MiB}
  batch: {send_batch_size: 1000, timeout: 100ms}
exporters:
  trace_analysis: {}
service:
  pipelines:
    default:
      receivers: [otlp_http]
      processors: [memory_limiter, batch]
      exporters: [trace_analysis]
"""

ENV = {
    "STROBE_SERVER_MAX_INFLIGHT_BODY_BYTES": "64MiB",
    # Let the API read 20 MiB bodies too (GET /healthz reads its body), so both ports are attacked.
    "STROBE_SERVER_MAX_BODY_BYTES": "32MiB",
    "STROBE_HOST_ENABLED": "false",
}


def valid_trace(n):
    """An OTLP/JSON export of one span named valid-<n>."""
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "ok"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "%032x" % (0x1000 + n), "spanId": "%016x" % (0x2000 + n),
            "name": "valid-%d" % n, "kind": 1,
            "startTimeUnixNano": "1000", "endTimeUnixNano": "2000"}]}]}]}).encode()


def post(port, body, extra=b""):
    return (b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + extra +
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)


def parse_reply(data):
    """(status, headers lower-cased) of a raw HTTP reply; (None, {}) when there is none."""
    status = status_of(data)
    headers = {}
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        if b":" in line:
            k, v = line.split(b":", 1)
            headers[k.strip().lower().decode()] = v.strip().decode()
    return status, headers


class Holder(threading.Thread):
    """Announces a BODY-byte body, sends SENT bytes of it as fast as the server reads, then holds
    the connection until told to stop. Records the response if the server answers first."""
    PIECE = b"x" * (256 * 1024)

    def __init__(self, port, head, stop):
        super().__init__(daemon=True)
        self.port, self.head, self.stop = port, head, stop
        self.sent = 0
        self.reply = b""
        self.done = threading.Event()  # refused, or holding all SENT bytes

    def run(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        try:
            s.sendall(self.head)
            s.setblocking(False)
            while self.sent < SENT:
                r, w, _ = select.select([s], [s], [], 5)
                if r:
                    break  # the server answered (or closed) before taking the whole body
                if w:
                    try:
                        self.sent += s.send(self.PIECE[:min(len(self.PIECE), SENT - self.sent)])
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        break  # reset after the server's answer: read it below
            self.done.set()
            self.reply = self.read_reply(s)
        finally:
            self.done.set()
            s.close()

    def read_reply(self, s):
        data = b""
        while not self.stop.is_set() or data:
            r, _, _ = select.select([s], [], [], 0.1)
            if not r:
                if data:
                    return data
                continue
            try:
                b = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                return data
            if not b:
                return data
            data += b
        return data


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.samples = pid, 0, 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, rss_bytes(self.pid))
                self.samples += 1
            except (OSError, AssertionError):
                return
            time.sleep(0.005)


def memory_refusals(d):
    return (metric(d, "strobe_http_rejected_requests_total", reason="memory") +
            metric(d, "strobe_receiver_refused_requests_total", reason="memory"))


def test_bodies_and_gzip_bombs_stay_within_the_memory_bound(daemon):
    d = daemon(config_text=CONFIG, env=ENV)
    otlp_port = int(d.wait_otlp().rsplit(":", 1)[1])

    # Warm up both paths, then take the baseline.
    accepted0 = metric(d, "strobe_receiver_accepted_spans_total")
    assert status_of(raw_exchange(otlp_port, post(otlp_port, valid_trace(0)))) == 200
    assert_serving(d)
    refused0 = memory_refusals(d)
    baseline = rss_bytes(d.proc.pid)
    bound = baseline + BUDGET + LIMITER_HARD + 2 * HOLDERS_PER_PORT * PER_CONNECTION + SLACK
    sampler = RssSampler(d.proc.pid)
    sampler.start()

    # Attack 1: 40 connections each announce 20 MiB and send 19.9 MiB, half on each port.
    stop = threading.Event()
    otlp_head = (b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                 b"Content-Length: %d\r\n\r\n" % BODY)
    api_head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % BODY
    holders = [Holder(otlp_port, otlp_head, stop) for _ in range(HOLDERS_PER_PORT)]
    holders += [Holder(d.port, api_head, stop) for _ in range(HOLDERS_PER_PORT)]
    for h in holders:
        h.start()
    deadline = time.time() + 120
    for h in holders:
        assert h.done.wait(max(0.1, deadline - time.time())), "a holder neither refused nor sent"

    # In the middle of it (the survivors still hold their bodies), a valid client is served or
    # told to retry; the daemon answers health checks.
    mid = raw_exchange(otlp_port, post(otlp_port, valid_trace(1)))
    mid_status, mid_headers = parse_reply(mid)
    assert mid_status in (200, 429, 503), mid[:300]
    accepted_mid = 1 if mid_status == 200 else 0
    mid_memory_refusal = 1 if mid_status == 503 and b"memory budget" in mid else 0
    if mid_status != 200:
        assert "retry-after" in mid_headers, mid_headers
    assert_serving(d)
    peak_attack1 = sampler.peak

    stop.set()
    for h in holders:
        h.join(30)
    d.poll(lambda: metric(d, "strobe_ingress_memory_bytes") == 0, "ingress budget back to 0")

    # Attack 2: eight concurrent gzip bombs (63 MiB of zeros in ~64 KB each) at the OTLP port.
    bomb = gzip.compress(b"\0" * (63 * MiB), 9)
    replies = [None] * BOMBS

    def fire(i):
        replies[i] = raw_exchange(otlp_port, post(otlp_port, bomb, b"Content-Encoding: gzip\r\n"),
                                  timeout=30)
    bombers = [threading.Thread(target=fire, args=(i,)) for i in range(BOMBS)]
    for b in bombers:
        b.start()
    for b in bombers:
        b.join(60)
    sampler.stop.set()
    sampler.join(5)
    peak = sampler.peak
    assert sampler.samples > 10

    # RSS stayed under the bound for this configuration, through both attacks.
    assert peak <= bound, ("peak RSS %.0f MiB (first attack %.0f MiB) over the bound %.0f MiB "
                           "(baseline %.0f MiB)" % (peak / MiB, peak_attack1 / MiB, bound / MiB,
                                                    baseline / MiB))

    # The holders the budget refused got 503 + Retry-After; the rest held their bodies until
    # they let go (no response). The budget was exceeded, so some were refused.
    refused = 0
    for h in holders:
        status, headers = parse_reply(h.reply)
        if status is None:
            assert h.sent == SENT, (h.sent, h.reply[:200])
            continue
        assert status == 503, h.reply[:300]
        assert headers.get("retry-after") == "1", headers
        refused += 1
    assert refused >= 2 * HOLDERS_PER_PORT - BUDGET // (16 * MiB), refused

    # Each bomb was refused for memory (503 + Retry-After) or, when it fit, inflated and turned
    # down as the invalid protobuf it is (400) -- never accepted, never a crash.
    bomb_refused = 0
    for r in replies:
        status, headers = parse_reply(r)
        assert status in (400, 413, 503), r[:300]
        if status == 503:
            assert headers.get("retry-after") == "1", headers
            bomb_refused += 1
    assert bomb_refused >= 1

    # Every refusal was counted, exactly once.
    assert memory_refusals(d) - refused0 == refused + bomb_refused + mid_memory_refusal

    # The daemon serves on: a valid client is accepted and its span counted exactly.
    assert status_of(raw_exchange(otlp_port, post(otlp_port, valid_trace(2)))) == 200
    assert metric(d, "strobe_receiver_accepted_spans_total") - accepted0 == 2 + accepted_mid
    assert metric(d, "strobe_ingress_memory_peak_bytes") <= BUDGET
    assert_serving(d)
