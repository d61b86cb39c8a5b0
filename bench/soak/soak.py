#!/usr/bin/python3
"""Hostile soak of `strobe serve` (issue 14): valid clients with exactly known output and
hostile clients in rotation, against one daemon, for a fixed duration; then a report of RSS
over time, refusals by reason, and acknowledged vs arrived for every valid client.

Run through bench/soak/run.sh (see bench/soak/README.md). Subcommands (each a process):
  run       the orchestrator: starts the sink, the daemon and the clients, samples, reports
  sink      the OTLP/HTTP backend the daemon exports to: decodes and checks every item
  spans     valid OTLP/HTTP span client (protobuf and JSON), fixed rate
  metrics   valid OTLP/HTTP metric client (gauge and cumulative sum points), fixed rate
  shm       valid shared-memory producer (the Python package): counters and spans
  hostile   the hostile clients, in rotation
  truncator one hostile producer that truncates its own ring (started by `hostile`)

Every valid item carries `soak.client` and `soak.seq`; the sink marks seq in a bitmap per
client and checks the item's other fields are what that seq implies (a collapsed or vanished
label counts as altered). Every process gets an absolute deadline (--until) and exits by itself;
children also exit when their parent is gone. Standard library only (plus the strobe package
for the shm producers)."""

import argparse
import gzip
import http.client
import http.server
import json
import os
import random
import re
import resource
import signal
import socket
import socketserver
import statistics
import struct
import subprocess
import sys
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "hostile"))
import otlp_pb as otlp  # noqa: E402  (shared with the hostile suite)

CUSTOMERS = ("alice", "bob", "carol")
VALID_CLIENTS = ("otlp_spans", "otlp_metrics", "shm_spans")


def log(*a):
    print("[soak %s]" % time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def watch_parent():
    """Exits this process when the process that started it is gone (no orphans)."""
    parent = os.getppid()

    def loop():
        while True:
            time.sleep(1)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=loop, daemon=True).start()


def expected_span_name(seq):
    return "soak.op.%d" % (seq % 8)


def gen_key(seq, per=2500):
    """A valid client's attribute key that is new every `per` seqs (a key table that stops
    taking new keys shows as this attribute or label vanishing: counted as altered)."""
    return "soak.gen.%d" % (seq // per)


def set_bit(bm, seq):
    """Sets bit `seq` of bytearray `bm` (grown as needed); returns whether it was set before."""
    i = seq >> 3
    if i >= len(bm):
        bm.extend(b"\0" * max(i + 1 - len(bm), len(bm)))
    was = bm[i] >> (seq & 7) & 1
    bm[i] |= 1 << (seq & 7)
    return bool(was)


def popcount(bm):
    return int.from_bytes(bm, "little").bit_count()


def missing(acked, arrived):
    """Number of seqs set in `acked` and not in `arrived`, and the first few of them."""
    a = int.from_bytes(acked, "little")
    b = int.from_bytes(arrived, "little")
    m = a & ~b
    first = []
    x = m
    while x and len(first) < 5:
        low = x & -x
        first.append(low.bit_length() - 1)
        x ^= low
    return m.bit_count(), first


# ---- sink -------------------------------------------------------------------------------------


class SinkState:
    def __init__(self):
        self.mu = threading.Lock()
        self.bitmaps = {c: bytearray() for c in VALID_CLIENTS}
        self.duplicates = {c: 0 for c in VALID_CLIENTS}
        self.altered = {c: 0 for c in VALID_CLIENTS}
        self.altered_samples = []
        self.foreign = {}  # items of other senders (hostile clients that got a 200), by service
        self.shm_counters = {}  # customer -> highest cumulative value seen
        self.shm_counter_points = 0
        self.requests = {}
        self.decode_errors = 0

    def alter(self, client, what):
        self.altered[client] += 1
        if len(self.altered_samples) < 10:
            self.altered_samples.append("%s: %s" % (client, what))

    def take_spans(self, body):
        for res, sp in otlp.decode_spans(body):
            a = sp["attrs"]
            client = a.get("soak.client")
            if client not in ("otlp_spans", "shm_spans"):
                svc = str(res.get("service.name", "?"))
                self.foreign[svc] = self.foreign.get(svc, 0) + 1
                if client is None and svc in ("soak-otlp", "soak-shm"):
                    # A valid client's span that lost its soak.client attribute.
                    self.alter("otlp_spans" if svc == "soak-otlp" else "shm_spans",
                               "span %r without soak.client: %r" % (sp["name"], sorted(a)[:6]))
                continue
            try:
                seq = int(a.get("soak.seq"))
            except (TypeError, ValueError):
                self.alter(client, "span without soak.seq: %r" % sorted(a)[:6])
                continue
            if set_bit(self.bitmaps[client], seq):
                self.duplicates[client] += 1
            bad = []
            if a.get("customer") != CUSTOMERS[seq % 3]:
                bad.append("customer=%r" % a.get("customer"))
            if sp["name"] != expected_span_name(seq):
                bad.append("name=%r" % sp["name"])
            if client == "otlp_spans":
                if sp["span_id"] != struct.pack(">Q", seq + 1):
                    bad.append("span_id=%s" % sp["span_id"].hex())
                if a.get("http.route") != "/r/%d" % (seq % 16):
                    bad.append("http.route=%r" % a.get("http.route"))
                if str(a.get(gen_key(seq))) != str(seq):
                    bad.append("%s missing (keys %s)" % (gen_key(seq), sorted(a)))
            if bad:
                self.alter(client, "seq %d: %s" % (seq, ", ".join(bad)))

    def take_points(self, body):
        for res, name, kind, p in otlp.decode_points(body):
            a = p["attrs"]
            if name in ("soak_otlp_gauge", "soak_otlp_total"):
                if a.get("soak.client") != "otlp_metrics" or p["value"] is None:
                    self.alter("otlp_metrics", "%s point %r value %r" % (name, a, p["value"]))
                    continue
                seq = int(p["value"])
                if set_bit(self.bitmaps["otlp_metrics"], seq):
                    self.duplicates["otlp_metrics"] += 1
                want_kind = "gauge" if name == "soak_otlp_gauge" else "sum"
                if (a.get("customer") != CUSTOMERS[seq % 3] or kind != want_kind or
                        a.get(gen_key(seq, 750)) != "g"):
                    self.alter("otlp_metrics", "seq %d: %s %s labels %s" %
                               (seq, name, kind, sorted(a.items())))
            elif name == "soak_shm_ops_total":
                self.shm_counter_points += 1
                c = a.get("customer")
                if c not in CUSTOMERS or p["value"] is None:
                    self.alter("shm_spans", "shm counter point labels %r" % a)
                    continue
                self.shm_counters[c] = max(self.shm_counters.get(c, 0), p["value"])
            else:
                key = "metric:" + str(res.get("service.name", name))
                self.foreign[key] = self.foreign.get(key, 0) + 1

    def summary(self):
        with self.mu:
            return {
                "arrived": {c: popcount(b) for c, b in self.bitmaps.items()},
                "duplicates": self.duplicates, "altered": self.altered,
                "altered_samples": self.altered_samples, "foreign": self.foreign,
                "shm_counters": self.shm_counters, "shm_counter_points": self.shm_counter_points,
                "requests": self.requests, "decode_errors": self.decode_errors,
            }


def cmd_sink(args):
    watch_parent()
    state = SinkState()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, body=b"", ctype="application/x-protobuf"):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n)
            if self.headers.get("Content-Encoding", "") == "gzip":
                body = gzip.decompress(body)
            with state.mu:
                state.requests[self.path] = state.requests.get(self.path, 0) + 1
                try:
                    if self.path == "/v1/traces":
                        state.take_spans(body)
                    elif self.path == "/v1/metrics":
                        state.take_points(body)
                except (ValueError, IndexError, UnicodeDecodeError) as e:
                    state.decode_errors += 1
                    log("sink: undecodable %s body (%d bytes): %s" % (self.path, len(body), e))
            self.reply(200)

        def do_GET(self):
            if self.path == "/state":
                self.reply(200, json.dumps(state.summary()).encode(), "application/json")
            elif self.path.startswith("/bitmap/"):
                with state.mu:
                    bm = bytes(state.bitmaps.get(self.path[8:], b""))
                self.reply(200, bm, "application/octet-stream")
            else:
                self.reply(404)

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    srv = Server(("127.0.0.1", 0), Handler)
    print("ready %d" % srv.server_address[1], flush=True)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    while time.time() < args.until:
        time.sleep(0.5)


# ---- valid clients ----------------------------------------------------------------------------


class Poster:
    """POSTs one request until it is acknowledged: keeps one keep-alive connection (reopened
    after any transport error or close), waits out 429/503 with their Retry-After (at most 5
    s), and gives up after `give_up` seconds. Tallies every answer."""

    def __init__(self, hostport, token, give_up=60.0):
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        self.token = token
        self.give_up = give_up
        self.conn = None
        self.statuses = {}
        self.latencies = []

    def _count(self, k):
        self.statuses[k] = self.statuses.get(k, 0) + 1

    def post(self, path, body, ctype):
        headers = {"Content-Type": ctype, "Authorization": "Bearer " + self.token}
        deadline = time.time() + self.give_up
        while time.time() < deadline:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=15)
            t0 = time.perf_counter()
            try:
                self.conn.request("POST", path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException):
                self._count("transport_error")
                self.conn.close()
                self.conn = None
                time.sleep(0.1)
                continue
            self.latencies.append(time.perf_counter() - t0)
            self._count(str(r.status))
            if r.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            if r.status == 200:
                return "ok", data
            if r.status in (429, 503):
                try:
                    wait = float(r.getheader("Retry-After") or 1)
                except ValueError:
                    wait = 1.0
                time.sleep(min(max(wait, 0.05), 5.0))
                continue
            return "refused", r.status
        return "gave_up", None


def paced(rate, until):
    """Yields once every 1/rate s until `until` (no bursts after a stall: skips ahead)."""
    period = 1.0 / rate
    nxt = time.time()
    while True:
        now = time.time()
        if now >= until:
            return
        if now < nxt:
            time.sleep(nxt - now)
        yield
        nxt = max(nxt + period, time.time() - period)


def write_result(path, result, acked):
    with open(path + ".acked", "wb") as f:
        f.write(acked)
    with open(path + ".json", "w") as f:
        json.dump(result, f)


def client_result(name, poster, acked, requests, outcomes, t0, extra=None):
    lat = sorted(poster.latencies)
    r = {
        "client": name, "acked": popcount(acked), "requests": requests, "outcomes": outcomes,
        "statuses": poster.statuses, "seconds": round(time.time() - t0, 1),
        "latency_ms_p50": round(lat[len(lat) // 2] * 1e3, 2) if lat else None,
        "latency_ms_p99": round(lat[int(len(lat) * 0.99)] * 1e3, 2) if lat else None,
        "latency_ms_max": round(lat[-1] * 1e3, 2) if lat else None,
    }
    r.update(extra or {})
    return r


def spans_json(seqs, now_ns):
    spans = []
    for seq in seqs:
        sp = {
            "traceId": struct.pack(">QQ", 0x50AC, seq // 5).hex(),
            "spanId": struct.pack(">Q", seq + 1).hex(), "name": expected_span_name(seq),
            "kind": 2, "startTimeUnixNano": str(now_ns - 1000000), "endTimeUnixNano": str(now_ns),
            "attributes": [
                {"key": "soak.client", "value": {"stringValue": "otlp_spans"}},
                {"key": "soak.seq", "value": {"intValue": str(seq)}},
                {"key": "customer", "value": {"stringValue": CUSTOMERS[seq % 3]}},
                {"key": "http.route", "value": {"stringValue": "/r/%d" % (seq % 16)}},
                {"key": "http.status_code", "value": {"intValue": "200"}},
                {"key": gen_key(seq), "value": {"intValue": str(seq)}},
            ]}
        if seq % 5:
            sp["parentSpanId"] = struct.pack(">Q", seq - seq % 5 + 1).hex()
        spans.append(sp)
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": "soak-otlp"}}]},
        "scopeSpans": [{"scope": {"name": "soak"}, "spans": spans}]}]}).encode()


def spans_proto(seqs, now_ns):
    out = []
    for seq in seqs:
        parent = struct.pack(">Q", seq - seq % 5 + 1) if seq % 5 else b""
        out.append(otlp.span(
            struct.pack(">QQ", 0x50AC, seq // 5), struct.pack(">Q", seq + 1), parent,
            expected_span_name(seq), now_ns - 1000000, now_ns,
            {"soak.client": "otlp_spans", "soak.seq": seq, "customer": CUSTOMERS[seq % 3],
             "http.route": "/r/%d" % (seq % 16), "http.status_code": 200, gen_key(seq): seq}))
    return otlp.traces_request({"service.name": "soak-otlp"}, out)


def cmd_spans(args):
    """Valid OTLP/HTTP span client: --rate requests/s of --batch spans (batch a multiple of 5:
    whole traces of 5 spans), every 4th request as OTLP JSON."""
    watch_parent()
    poster = Poster(args.otlp, args.token)
    acked = bytearray()
    outcomes = {}
    seq = requests = 0
    t0 = time.time()
    for _ in paced(args.rate, args.until):
        seqs = range(seq, seq + args.batch)
        seq += args.batch
        now_ns = time.time_ns()
        as_json = requests % 4 == 3
        body = spans_json(seqs, now_ns) if as_json else spans_proto(seqs, now_ns)
        requests += 1
        res, data = poster.post("/v1/traces", body,
                                "application/json" if as_json else "application/x-protobuf")
        rejected = 0
        if res == "ok":
            if as_json:
                try:
                    ps = json.loads(data or b"{}").get("partialSuccess") or {}
                    rejected = int(ps.get("rejectedSpans") or 0)
                except ValueError:
                    rejected = 0
            else:
                rejected = otlp.partial_rejected(data)
            if rejected:
                res = "partial_success"  # which spans were refused is not said: none acked
        outcomes[res] = outcomes.get(res, 0) + 1
        if res == "ok":
            for s in seqs:
                set_bit(acked, s)
    write_result(args.out, client_result("otlp_spans", poster, acked, requests, outcomes, t0,
                                         {"sent": seq}), acked)


def cmd_metrics(args):
    """Valid OTLP/HTTP metric client: --rate requests/s, each --batch points over three series
    (customer=alice/bob/carol), alternately a gauge and a cumulative monotonic sum; a point's
    value is its seq (so sums stay monotonic per series)."""
    watch_parent()
    poster = Poster(args.otlp, args.token)
    acked = bytearray()
    outcomes = {}
    seq = requests = 0
    start_ns = time.time_ns()
    t0 = time.time()
    for _ in paced(args.rate, args.until):
        seqs = range(seq, seq + args.batch)
        seq += args.batch
        now_ns = time.time_ns()
        gauge = requests % 2 == 0
        pts = [otlp.number_point({"soak.client": "otlp_metrics", "customer": CUSTOMERS[s % 3],
                                  gen_key(s, 750): "g"},
                                 now_ns + (s - seqs[0]), s, 0 if gauge else start_ns)
               for s in seqs]
        metric = (otlp.gauge_metric("soak_otlp_gauge", pts) if gauge else
                  otlp.sum_metric("soak_otlp_total", pts))
        body = otlp.metrics_request({"service.name": "soak-metrics"}, [metric])
        requests += 1
        res, data = poster.post("/v1/metrics", body, "application/x-protobuf")
        if res == "ok" and otlp.partial_rejected(data):
            res = "partial_success"
        outcomes[res] = outcomes.get(res, 0) + 1
        if res == "ok":
            for s in seqs:
                set_bit(acked, s)
    write_result(args.out, client_result("otlp_metrics", poster, acked, requests, outcomes, t0,
                                         {"sent": seq}), acked)


def import_strobe(build):
    sys.path.insert(0, os.path.join(build, "python"))
    import strobe  # noqa: F401
    return strobe


def cmd_shm(args):
    """Valid shm producer: --rate ticks/s; each tick adds (seq % 5 + 1) to
    soak_shm_ops_total{customer} and writes one span (soak.client=shm_spans, soak.seq). A flush
    every second acknowledges everything written before it; the final totals are known."""
    watch_parent()
    strobe = import_strobe(args.build)
    conn = strobe.connect(ring=args.ring, dir=args.shm_dir, policy="spin", spin_limit=1 << 24)
    ops = conn.counter("soak_shm_ops_total", "soak shm counter", labelnames=["customer"])
    children = [ops.labels(customer=c) for c in CUSTOMERS]
    totals = {c: 0 for c in CUSTOMERS}
    acked = bytearray()
    outcomes = {}
    seq = flushed_to = 0
    last_flush = time.time()
    t0 = time.time()

    def flush(timeout):
        nonlocal flushed_to
        try:
            conn.flush(timeout=timeout)
        except TimeoutError:
            outcomes["flush_timeout"] = outcomes.get("flush_timeout", 0) + 1
            return False
        except strobe.StrobeError as e:  # DataLossError: the daemon refused records
            outcomes["flush_error:" + type(e).__name__] = outcomes.get(
                "flush_error:" + type(e).__name__, 0) + 1
            return False
        outcomes["flush_ok"] = outcomes.get("flush_ok", 0) + 1
        for s in range(flushed_to, seq):
            set_bit(acked, s)
        flushed_to = seq
        return True

    for _ in paced(args.rate, args.until):
        c = seq % 3
        children[c].inc(seq % 5 + 1)
        totals[CUSTOMERS[c]] += seq % 5 + 1
        with conn.span(expected_span_name(seq), **{"soak.client": "shm_spans", "soak.seq": seq,
                                                    "customer": CUSTOMERS[c]}):
            pass
        seq += 1
        if time.time() - last_flush >= 1.0:
            flush(2.0)
            last_flush = time.time()
    final_ok = False
    for _ in range(15):
        if flush(2.0):
            final_ok = True
            break
    result = {"client": "shm_spans", "acked": popcount(acked), "sent": seq, "outcomes": outcomes,
              "final_flush_ok": final_ok, "dropped_records": conn.dropped_records,
              "counter_totals": totals if final_ok else None, "seconds": round(time.time() - t0, 1)}
    write_result(args.out, result, acked)
    # Stay attached until the orchestrator has checked the counters (its deadline + drain):
    # the daemon pushes cumulative points every metrics_interval, producer alive or not.
    while time.time() < args.linger_until:
        time.sleep(0.5)
    conn.close()


# ---- hostile clients --------------------------------------------------------------------------

# Hostile clients connect from another loopback address, as another host would: the daemon's
# per-client limits (connections per address, new attribute keys per address) then act on them
# and not on the valid clients, which is what those limits are for.
HOSTILE_SOURCE = ("127.0.0.2", 0)


def raw(port, data, timeout=5.0, shut=False):
    """Sends `data` on a new connection; returns the reply's status (int), 'closed' (closed
    without a status), 'silent' (nothing until the timeout) or 'refused'/'reset'."""
    try:
        s = socket.create_connection(("127.0.0.1", port), source_address=HOSTILE_SOURCE, timeout=timeout)
    except OSError:
        return "connect_failed"
    try:
        try:
            s.sendall(data)
            if shut:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close while we send; read what it said
        buf = b""
        deadline = time.time() + timeout
        while time.time() < deadline and b"\r\n" not in buf:
            try:
                b = s.recv(4096)
            except socket.timeout:
                return "silent"
            except OSError:
                return "reset" if not buf else status_word(buf)
            if not b:
                break
            buf += b
        return status_word(buf)
    finally:
        s.close()


def status_word(buf):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", buf)
    return int(m.group(1)) if m else "closed"


class Hostile:
    def __init__(self, args):
        self.a = args
        self.otlp_port = int(args.otlp.rsplit(":", 1)[1])
        self.api_port = args.api_port
        self.tally = {}  # attack -> {outcome: n}
        self.episodes = {}
        self.mu = threading.Lock()
        self.round = 0
        self.rng = random.Random(14)
        self.valid_span_body = spans_proto(range(1 << 40, (1 << 40) + 5), time.time_ns())
        # 64 KiB of gzip that inflates to 63 MiB of zeros (within max_decompressed_bytes: then
        # garbage protobuf) and 1 MiB that inflates to 1 GiB (above it: 413).
        self.bomb_small = self._bomb(63 << 20)
        self.bomb_big = self._bomb(1 << 30)

    @staticmethod
    def _bomb(n):
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        chunk = b"\0" * (1 << 20)
        out = [c.compress(chunk) for _ in range(n >> 20)]
        out.append(c.flush())
        return b"".join(out)

    def note(self, attack, outcome, n=1):
        with self.mu:
            t = self.tally.setdefault(attack, {})
            t[str(outcome)] = t.get(str(outcome), 0) + n

    def head(self, path, extra=b"", length=None, token=True, ctype=b"application/x-protobuf"):
        h = b"POST " + path + b" HTTP/1.1\r\nHost: soak\r\nContent-Type: " + ctype + b"\r\n"
        if token:
            h += b"Authorization: Bearer " + self.a.token.encode() + b"\r\n"
        if length is not None:
            h += b"Content-Length: %d\r\n" % length
        return h + extra + b"\r\n"

    # Each attack is one bounded episode.

    def idle_flood(self):
        """max_connections + 64 idle connections on one port (API and OTLP in turn), held 8 s,
        while probing /healthz; then closed."""
        port = self.api_port if self.round % 2 == 0 else self.otlp_port
        socks = []
        for _ in range(self.a.max_connections + 64):
            try:
                socks.append(socket.create_connection(("127.0.0.1", port), source_address=HOSTILE_SOURCE, timeout=2))
            except OSError:
                self.note("idle_flood", "connect_failed")
        self.note("idle_flood", "opened", len(socks))
        end = time.time() + 8
        while time.time() < end:
            self.note("idle_flood", "healthz_during=%s" % raw(
                self.api_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=3))
            time.sleep(1)
        closed_by_server = 0
        for s in socks:
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    closed_by_server += 1
            except BlockingIOError:
                pass
            except OSError:
                closed_by_server += 1
            s.close()
        self.note("idle_flood", "closed_by_server", closed_by_server)

    def _slow(self, attack, n, first, drip, max_s):
        socks = []
        for _ in range(n):
            try:
                s = socket.create_connection(("127.0.0.1", self.otlp_port), source_address=HOSTILE_SOURCE, timeout=2)
                s.sendall(first)
                s.setblocking(False)
                socks.append([s, None])
            except OSError:
                self.note(attack, "connect_failed")
        t0 = time.time()
        while time.time() - t0 < max_s and any(e[1] is None for e in socks):
            time.sleep(1)
            for entry in socks:
                s, outcome = entry
                if outcome is not None:
                    continue
                try:
                    b = s.recv(4096)
                    entry[1] = status_word(b) if b else "closed"
                    entry.append(time.time() - t0)
                    continue
                except BlockingIOError:
                    pass
                except OSError:
                    entry[1] = "reset"
                    continue
                try:
                    s.send(drip)
                except OSError:
                    entry[1] = "reset"
        for entry in socks:
            self.note(attack, entry[1] or "still_open_at_%ds" % max_s)
            if len(entry) > 2:
                self.note(attack, "closed_after_%ds" % (int(entry[2] / 5) * 5))
            entry[0].close()

    def slowloris_headers(self):
        """32 connections sending a request head one byte a second."""
        self._slow("slowloris_headers", 32, b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-A: ", b"a",
                   45)

    def slowloris_body(self):
        """16 connections announcing a 100 kB body and sending 10 bytes a second."""
        self._slow("slowloris_body", 16, self.head(b"/v1/traces", length=100000), b"x" * 10, 45)

    def chunked_trailer(self):
        """64 KiB and 200 KiB chunked trailer fields, on the OTLP and API ports."""
        for size in (64 << 10, 200 << 10):
            body = b"1\r\na\r\n0\r\nX-Big: " + b"v" * size + b"\r\n\r\n"
            self.note("chunked_trailer", raw(self.otlp_port, self.head(
                b"/v1/traces", b"Transfer-Encoding: chunked\r\n") + body))
            self.note("chunked_trailer", raw(self.api_port, (
                b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body)))

    def oversized(self):
        """Content-Length liars: 100 MiB announced; 1000 announced and 10 sent then EOF; 10
        announced and 5000 sent; and 8 connections holding 19 of a 20 MiB-limit body each for
        5 s (memory held by bodies being read)."""
        self.note("oversized", "announce_100MiB=%s" % raw(
            self.otlp_port, self.head(b"/v1/traces", length=100 << 20)))
        self.note("oversized", "short_body=%s" % raw(
            self.otlp_port, self.head(b"/v1/traces", length=1000) + b"x" * 10, shut=True))
        self.note("oversized", "long_body=%s" % raw(
            self.otlp_port, self.head(b"/v1/traces", length=10) + b"\x0a\x03abc" * 1000))
        chunk = b"\x0a" * (1 << 20)
        socks = []
        for _ in range(8):
            try:
                s = socket.create_connection(("127.0.0.1", self.otlp_port), source_address=HOSTILE_SOURCE, timeout=10)
                s.sendall(self.head(b"/v1/traces", length=(20 << 20) - 4096))
                for _ in range(19):
                    s.sendall(chunk)
                socks.append(s)
            except OSError as e:
                self.note("oversized", "held_body_send_failed:%s" % type(e).__name__)
        time.sleep(5)
        for s in socks:
            s.close()
        self.note("oversized", "held_19MiB_bodies", len(socks))

    def gzip_bomb(self):
        """8 concurrent 64 KiB gzip bodies inflating to 63 MiB each, and one inflating to 1 GiB."""
        out = []

        def one(body):
            out.append(raw(self.otlp_port, self.head(
                b"/v1/traces", b"Content-Encoding: gzip\r\n", len(body)) + body, timeout=30))
        th = [threading.Thread(target=one, args=(self.bomb_small,)) for _ in range(8)]
        th.append(threading.Thread(target=one, args=(self.bomb_big,)))
        for t in th:
            t.start()
        for t in th:
            t.join()
        for o in out:
            self.note("gzip_bomb", o)

    def garbage(self):
        """Random bytes, a truncated valid request and wrong wire types as protobuf; broken
        JSON; an unknown content type."""
        rnd = bytes(self.rng.getrandbits(8) for _ in range(4096))
        for body, ctype in ((rnd, b"application/x-protobuf"),
                            (self.valid_span_body[:-7], b"application/x-protobuf"),
                            (b"\x0b\x0c\x0d" * 100, b"application/x-protobuf"),
                            (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": 7',
                             b"application/json"),
                            (b"hello", b"text/plain")):
            for path in (b"/v1/traces", b"/v1/metrics"):
                self.note("garbage", raw(self.otlp_port, self.head(path, length=len(body),
                                                                     ctype=ctype) + body))

    def wrong_token(self):
        """A valid body with a wrong token and with none, on OTLP; /metrics with a wrong one."""
        b = self.valid_span_body
        bad = self.head(b"/v1/traces", b"Authorization: Bearer not-the-token\r\n", len(b),
                        token=False)
        self.note("wrong_token", "otlp_wrong=%s" % raw(self.otlp_port, bad + b))
        self.note("wrong_token", "otlp_none=%s" % raw(
            self.otlp_port, self.head(b"/v1/traces", length=len(b), token=False) + b))
        self.note("wrong_token", "api_wrong=%s" % raw(
            self.api_port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer not-the-token\r\n\r\n"))

    def key_flood(self):
        """One authenticated request with 70,000 distinct attribute keys (new ones every
        episode): a span's attributes, or a metric point's labels, in turn."""
        self.round_keys = getattr(self, "round_keys", 0) + 1
        prefix = "kf%d_" % self.round_keys
        attrs = {prefix + str(i): "v" for i in range(70000)}
        attrs["soak.client"] = "hostile"
        now = time.time_ns()
        if self.round_keys % 2:
            body = otlp.traces_request({"service.name": "soak-hostile"}, [otlp.span(
                os.urandom(16), os.urandom(8), b"", "key.flood", now - 1000, now, attrs)])
            path = b"/v1/traces"
        else:
            body = otlp.metrics_request({"service.name": "soak-hostile"}, [
                otlp.gauge_metric("soak_hostile_keys", [otlp.number_point(attrs, now, 1.0)])])
            path = b"/v1/metrics"
        self.note("key_flood", "%s=%s" % (path.decode(), raw(
            self.otlp_port, self.head(path, length=len(body)) + body, timeout=30)))

    def ring_truncate(self):
        """A producer (its own process) that writes, flushes, then truncates its own ring file
        while attached; the daemon must survive and count it."""
        cmd = [sys.executable, os.path.join(HERE, "soak.py"), "truncator", "--build",
               self.a.build, "--shm-dir", self.a.shm_dir, "--ring", self.a.ring,
               "--rate", str(self.round)]
        try:
            p = subprocess.run(cmd, timeout=30, capture_output=True, text=True)
            self.note("ring_truncate", "producer_exit=%s" % p.returncode)
            if p.returncode not in (0, -signal.SIGBUS):
                log("truncator:", p.stderr[-500:])
        except subprocess.TimeoutExpired:
            self.note("ring_truncate", "producer_timeout")

    def malformed_http(self):
        """Broken request lines, versions, smuggling shapes, bad chunk sizes, NULs, a 20 KiB
        request line, on both ports."""
        cases = [
            b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET\r\n\r\n",
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n"
            b"\r\nab",
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"GET /healthz HTTP/1.1\r\nNoColonHere\r\n\r\n",
            b"GET /\x00\x01 HTTP/1.1\r\n\r\n",
            b"GET /" + b"a" * (20 << 10) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 64,  # a TLS hello
        ]
        for port in (self.otlp_port, self.api_port):
            for c in cases:
                self.note("malformed_http", raw(port, c, timeout=3, shut=True))

    def run(self):
        attacks = [a for a in self.a.attacks.split(",") if a]
        i = 0
        while time.time() < self.a.until - 1:
            name = attacks[i % len(attacks)]
            i += 1
            self.round = i // len(attacks)
            if name in ("slowloris_headers", "slowloris_body") and self.a.until - time.time() < 50:
                continue  # keep every episode inside the deadline
            t0 = time.time()
            try:
                getattr(self, name)()
            except Exception as e:  # an attack's own failure must not end the rotation
                self.note(name, "attack_error:%s" % type(e).__name__)
                log("hostile %s: %r" % (name, e))
            self.episodes[name] = self.episodes.get(name, 0) + 1
            self.note(name, "episode_s<=%d" % (int(time.time() - t0) + 1), 0)
            time.sleep(0.5)


ATTACKS = ("idle_flood", "slowloris_headers", "chunked_trailer", "oversized", "gzip_bomb",
           "garbage", "wrong_token", "key_flood", "ring_truncate", "slowloris_body",
           "malformed_http")


def cmd_hostile(args):
    watch_parent()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    h = Hostile(args)
    h.run()
    tally = {k: {o: n for o, n in v.items() if n} for k, v in h.tally.items()}
    with open(args.out + ".json", "w") as f:
        json.dump({"episodes": h.episodes, "outcomes": tally}, f)


def cmd_truncator(args):
    args.variant = int(args.rate or 0)
    strobe = import_strobe(args.build)
    conn = strobe.connect(ring=args.ring, dir=args.shm_dir, policy="drop")
    c = conn.counter("soak_truncator_total", labelnames=["i"])
    for i in range(1000):
        c.labels(i=str(i % 10)).inc()
    if args.variant % 2:
        # Records not yet read by the daemon, then the data area cut off under it.
        with open(conn.path, "r+b") as f:
            f.truncate(4096)
    else:
        conn.flush(timeout=5)
        with open(conn.path, "r+b") as f:
            f.truncate(0)  # the header too
    time.sleep(2)  # attached and alive while the daemon looks at the shrunken ring
    os._exit(0)  # never touch the mapping again (it would SIGBUS this process)


# ---- orchestrator -----------------------------------------------------------------------------

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)")
REFUSAL = re.compile(r"(reject|refus|drop|evict|invalid|fail|error|timeout)")


class Daemon:
    def __init__(self, args, out, sink_port, started):
        self.out = out
        self.token = "soak-token-%d" % os.getpid()
        cfg = os.path.join(out, "strobe.yaml")
        shm_dir = os.path.join(out, "shm")
        os.mkdir(shm_dir, 0o700)
        self.shm_dir = shm_dir
        # The token (STROBE_TOKEN below) covers every HTTP listener, the OTLP receiver too.
        with open(cfg, "w") as f:
            f.write("""# Written by bench/soak/soak.py
listen: {http: "127.0.0.1:0", otlp_grpc: "off", wire: "off"}
shm: {name: soak, dir: "%(shm)s"}
receivers:
  otlp_http: {endpoint: "127.0.0.1:0"}
  shm: {name: soak, dir: "%(shm)s"}
processors:
  memory_limiter: {soft_limit: 384MiB, hard_limit: 512MiB}
  batch: {send_batch_size: 1000, timeout: 100ms}
exporters:
  otlp_http/sink: {endpoint: "http://127.0.0.1:%(sink)d", timeout: 10s}
  prometheus: {}
  trace_analysis: {}
service:
  pipelines:
    default:
      receivers: [otlp_http, shm]
      processors: [memory_limiter, batch]
      exporters: [otlp_http/sink, prometheus, trace_analysis]
""" % {"shm": shm_dir, "sink": sink_port})
        pc = subprocess.run([args.strobe, "serve", "--config", cfg, "--print-config"],
                            capture_output=True, text=True)
        m = re.search(r"^\s*max_connections:\s*(\d+)", pc.stdout, re.M)
        self.max_connections = int(m.group(1)) if m else 1024
        self.log_path = os.path.join(out, "strobe.log")
        self.log = open(self.log_path, "w")
        env = dict(os.environ, STROBE_TOKEN=self.token)
        self.proc = subprocess.Popen(
            [args.strobe, "serve", "--config", cfg, "--data-dir", os.path.join(out, "data")],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        started.append(self.proc)
        with open(os.path.join(out, "strobe.pid"), "w") as f:
            f.write("%d\n" % self.proc.pid)
        deadline = time.time() + 30
        while time.time() < deadline:
            text = self.read_log()
            if " ready " in text:
                self.api_port = int(re.search(r"listening on http://127\.0\.0\.1:(\d+)",
                                              text).group(1))
                self.otlp = re.search(r"otlp_http listening on ([0-9.]+:\d+)", text).group(1)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit("strobe serve did not start:\n" + self.read_log()[-3000:])

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def get(self, path, timeout=5):
        c = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=timeout)
        try:
            c.request("GET", path, headers={"Authorization": "Bearer " + self.token})
            r = c.getresponse()
            return r.status, r.read().decode(errors="replace")
        finally:
            c.close()


def proc_sample(pid):
    with open("/proc/%d/status" % pid) as f:
        st = dict(line.split(":", 1) for line in f if ":" in line)
    with open("/proc/%d/stat" % pid) as f:
        fields_ = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields_[11]) + int(fields_[12])
    return int(st["VmRSS"].split()[0]), int(st["VmHWM"].split()[0]), ticks


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m:
            try:
                out[(m.group(1), m.group(2) or "")] = float(m.group(3))
            except ValueError:
                pass
    return out


def cmd_run(args):
    """Runs the soak; whatever happens, stops every process it started."""
    started = []

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        return soak(args, started)
    except KeyboardInterrupt:
        log("interrupted: stopping everything the soak started")
        return 130
    finally:
        for p in started:
            if p.poll() is None:
                p.kill()
                p.wait()


def soak(args, children):
    out = args.out
    t_start = time.time()
    failures, warnings = [], []
    clients = []  # what spawn() started (children also holds the daemon)

    def spawn(name, *extra, stdout=None):
        argv = [sys.executable, os.path.abspath(__file__), name] + [str(x) for x in extra]
        p = subprocess.Popen(argv, stdout=stdout, stderr=open(os.path.join(out, name + ".err"),
                                                               "w"))
        children.append(p)
        clients.append(p)
        return p

    sink = spawn("sink", "--until", t_start + args.duration + 900, stdout=subprocess.PIPE)
    line = sink.stdout.readline().split()
    if not line or line[0] != b"ready":
        raise SystemExit("sink did not start")
    sink_port = int(line[1])
    d = Daemon(args, out, sink_port, children)
    log("strobe serve pid %d: api 127.0.0.1:%d, otlp %s; sink 127.0.0.1:%d; max_connections %d"
        % (d.proc.pid, d.api_port, d.otlp, sink_port, d.max_connections))
    until = time.time() + args.duration
    common = ["--until", until, "--otlp", d.otlp, "--token", d.token]
    spawn("spans", *common, "--rate", args.span_rate, "--batch", args.span_batch,
          "--out", os.path.join(out, "otlp_spans"))
    spawn("metrics", *common, "--rate", args.metric_rate, "--batch", 30,
          "--out", os.path.join(out, "otlp_metrics"))
    spawn("shm", *common, "--rate", args.shm_rate, "--build", args.build, "--shm-dir",
          d.shm_dir, "--ring", "soak", "--linger-until", until + args.drain + 30,
          "--out", os.path.join(out, "shm_spans"))
    if args.attacks:
        spawn("hostile", *common, "--api-port", d.api_port, "--max-connections",
              d.max_connections, "--build", args.build, "--shm-dir", d.shm_dir, "--ring", "soak",
              "--attacks", args.attacks, "--out", os.path.join(out, "hostile"))

    # Sample RSS/CPU every --sample seconds, /healthz every second, /metrics every 5 s.
    tick = os.sysconf("SC_CLK_TCK")
    samples = []  # (t, rss_kb, cpu cores since previous sample)
    health = {"ok": 0, "fail": 0, "longest_gap_s": 0.0, "max_latency_ms": 0.0}
    scrapes = {"ok": 0, "fail": 0, "max_latency_ms": 0.0}
    last_ok = time.time()
    last_sample = 0.0
    last_scrape = 0.0
    prev = None
    crashed = False
    hwm = 0
    while time.time() < until:
        now = time.time()
        if d.proc.poll() is not None:
            crashed = True
            failures.append("strobe serve exited with %s at t=%.0fs" % (
                d.proc.returncode, now - (until - args.duration)))
            break
        if now - last_sample >= args.sample:
            last_sample = now
            try:
                rss, hwm, ticks = proc_sample(d.proc.pid)
                cpu = (ticks - prev[1]) / tick / (now - prev[0]) if prev else 0.0
                prev = (now, ticks)
                samples.append((now - (until - args.duration), rss, cpu))
            except (OSError, KeyError, IndexError):
                pass
        t0 = time.perf_counter()
        try:
            c = http.client.HTTPConnection("127.0.0.1", d.api_port, timeout=5)
            c.request("GET", "/healthz")
            st = c.getresponse().status
            c.close()
        except (OSError, http.client.HTTPException):
            st = None
        lat = (time.perf_counter() - t0) * 1e3
        if st == 200:
            health["ok"] += 1
            health["max_latency_ms"] = max(health["max_latency_ms"], lat)
            last_ok = time.time()
        else:
            health["fail"] += 1
        health["longest_gap_s"] = max(health["longest_gap_s"], time.time() - last_ok)
        if now - last_scrape >= 5:
            last_scrape = now
            t0 = time.perf_counter()
            try:
                st, _ = d.get("/metrics")
            except (OSError, http.client.HTTPException):
                st = None
            if st == 200:
                scrapes["ok"] += 1
                scrapes["max_latency_ms"] = max(scrapes["max_latency_ms"],
                                                (time.perf_counter() - t0) * 1e3)
            else:
                scrapes["fail"] += 1
        time.sleep(max(0.0, 1.0 - (time.time() - now)))

    # Wind down: clients stop at `until` and write their results (the shm producer then stays
    # attached until the drain is over, so it is not waited for).
    for p in clients[1:]:
        name = p.args[2]
        result = os.path.join(out, ("shm_spans" if name == "shm" else
                                    {"spans": "otlp_spans", "metrics": "otlp_metrics"}.get(
                                        name, name)) + ".json")
        deadline = time.time() + (5 if crashed else 90)
        while time.time() < deadline and not os.path.exists(result) and p.poll() is None:
            time.sleep(0.2)
        if name != "shm":
            try:
                p.wait(timeout=max(1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                if not crashed:
                    failures.append("client %s did not stop by itself" % name)
    results = {}
    for c in VALID_CLIENTS:
        try:
            with open(os.path.join(out, c + ".json")) as f:
                results[c] = json.load(f)
            with open(os.path.join(out, c + ".acked"), "rb") as f:
                results[c]["acked_bitmap"] = f.read()
        except OSError:
            if not crashed:  # after a crash the clients are stopped before they report
                failures.append("client %s wrote no result" % c)
    hostile = {}
    try:
        with open(os.path.join(out, "hostile.json")) as f:
            hostile = json.load(f)
    except OSError:
        if args.attacks:
            failures.append("hostile clients wrote no result")

    def sink_get(path):
        c = http.client.HTTPConnection("127.0.0.1", sink_port, timeout=10)
        c.request("GET", path)
        body = c.getresponse().read()
        c.close()
        return body

    def complete(state):
        if any(state["arrived"].get(c, 0) < results[c]["acked"] for c in results):
            return False
        tot = (results.get("shm_spans") or {}).get("counter_totals")
        return not tot or all(state["shm_counters"].get(k, 0) >= v for k, v in tot.items())

    # Let the pipeline deliver (the exporter's batch and retry), then stop the daemon
    # (SIGTERM drains what is left) and read the final state of the sink.
    metrics_text = ""
    if not crashed:
        deadline = time.time() + args.drain
        while time.time() < deadline and not complete(json.loads(sink_get("/state"))):
            time.sleep(0.5)
        try:
            st, metrics_text = d.get("/metrics", timeout=10)
        except (OSError, http.client.HTTPException) as e:
            failures.append("final /metrics scrape failed: %r" % e)
        try:
            rss, hwm, _ = proc_sample(d.proc.pid)
        except OSError:
            pass
        d.proc.send_signal(signal.SIGTERM)
        try:
            rc = d.proc.wait(timeout=40)
            if rc != 0:
                failures.append("strobe serve exited with %s on SIGTERM" % rc)
        except subprocess.TimeoutExpired:
            d.proc.kill()
            d.proc.wait()
            failures.append("strobe serve did not stop within 40 s of SIGTERM")
    state = json.loads(sink_get("/state"))
    arrived_bm = {c: sink_get("/bitmap/" + c) for c in VALID_CLIENTS}
    for p in clients:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    # ---- report ----
    dur = args.duration
    print("\n## Hostile soak: %s s, strobe %s, nproc %d" % (dur, args.strobe, os.cpu_count()))
    print("\n### Valid clients: acknowledged vs arrived (exact, by seq)\n")
    print("| client | sent | acknowledged | arrived | missing | duplicates | altered | "
          "statuses / outcomes |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for c in VALID_CLIENTS:
        r = results.get(c)
        if r is None:
            continue
        miss, first = missing(r["acked_bitmap"], arrived_bm[c])
        arrived = state["arrived"].get(c, 0)
        oc = dict(r.get("statuses") or {}, **r.get("outcomes", {}))
        print("| %s | %d | %d | %d | %d | %d | %d | %s |" % (
            c, r["sent"], r["acked"], arrived, miss, state["duplicates"][c],
            state["altered"][c], " ".join("%s=%s" % kv for kv in sorted(oc.items()))))
        if miss:
            failures.append("%s: %d acknowledged items never arrived (first seqs %s)" % (
                c, miss, first))
        if state["altered"][c]:
            (failures if args.fail_on_altered else warnings).append(
                "%s: %d items arrived altered" % (c, state["altered"][c]))
        if r["acked"] == 0:
            failures.append("%s: nothing acknowledged" % c)
        bad = {k: v for k, v in (r.get("outcomes") or {}).items()
               if k not in ("ok", "flush_ok", "flush_timeout")}
        if bad:
            failures.append("%s: requests not acknowledged: %s" % (c, bad))
        if r.get("latency_ms_p99") is not None:
            print("|  | latency ms p50 %s p99 %s max %s | | | | | | |" % (
                r["latency_ms_p50"], r["latency_ms_p99"], r["latency_ms_max"]))
    shm = results.get("shm_spans") or {}
    if shm:
        tot = shm.get("counter_totals")
        print("\nshm counters soak_shm_ops_total{customer}: producer totals %s; last value at the "
              "sink %s (%d points); producer dropped records %s" % (
                  tot, {k: int(v) for k, v in state["shm_counters"].items()},
                  state["shm_counter_points"], shm.get("dropped_records")))
        if not shm.get("final_flush_ok"):
            failures.append("shm producer: final flush not acknowledged")
        elif {k: int(v) for k, v in state["shm_counters"].items()} != tot:
            failures.append("shm counters: sink has %s, producer wrote %s" % (
                state["shm_counters"], tot))
        if shm.get("dropped_records"):
            failures.append("shm producer dropped %s records" % shm["dropped_records"])
    if state["decode_errors"]:
        failures.append("sink could not decode %d exported requests" % state["decode_errors"])
    if state["altered_samples"]:
        print("\naltered (first ones): " + "; ".join(state["altered_samples"]))
    print("\nother items at the sink (hostile clients' accepted data): %s" % state["foreign"])

    print("\n### Daemon RSS and CPU (sampled every %s s)\n" % args.sample)
    if samples:
        rss = [s[1] / 1024 for s in samples]
        cpu = [s[2] for s in samples[1:]] or [0.0]
        print("RSS MB: min %.0f, median %.0f, max %.0f (sampled); peak (VmHWM) %.0f; bound %d" % (
            min(rss), statistics.median(rss), max(rss), hwm / 1024, args.rss_limit_mb))
        print("CPU cores: median %.2f, max %.2f" % (statistics.median(cpu), max(cpu)))
        nb = min(24, len(samples))
        per = dur / nb
        series = []
        for b in range(nb):
            pts = [s[1] / 1024 for s in samples if b * per <= s[0] < (b + 1) * per]
            if pts:
                series.append("%d:%.0f" % (int(b * per), max(pts)))
        print("RSS MB over time (t s: max in interval): " + " ".join(series))
        if hwm / 1024 > args.rss_limit_mb:
            failures.append("RSS peak %.0f MB above the bound %d MB" % (hwm / 1024,
                                                                        args.rss_limit_mb))
    print("/healthz every 1 s: %d ok, %d failed, longest gap without an answer %.1f s, max "
          "latency %.0f ms; /metrics every 5 s: %d ok, %d failed, max latency %.0f ms" % (
              health["ok"], health["fail"], health["longest_gap_s"], health["max_latency_ms"],
              scrapes["ok"], scrapes["fail"], scrapes["max_latency_ms"]))
    if health["longest_gap_s"] > args.max_health_gap:
        failures.append("/healthz unanswered for %.1f s (bound %s s)" % (
            health["longest_gap_s"], args.max_health_gap))

    print("\n### Refusals by reason (daemon /metrics at the end; non-zero series)\n")
    if metrics_text:
        for (name, labels), v in sorted(parse_metrics(metrics_text).items()):
            if v and REFUSAL.search(name) and name.startswith("strobe_") and \
                    not name.startswith("strobe_host_"):
                print("    %s%s %g" % (name, labels, v))
    else:
        print("    (no final scrape)")
    print("\n### Hostile clients (episodes; outcomes: status code or what happened)\n")
    for name, n in sorted((hostile.get("episodes") or {}).items()):
        oc = (hostile.get("outcomes") or {}).get(name, {})
        print("- %s x%d: %s" % (name, n, " ".join("%s=%s" % kv for kv in sorted(oc.items()))))
    if crashed or failures:
        print("\n### Daemon log (last lines)\n")
        print("\n".join("    " + line for line in d.read_log().splitlines()[-25:]))
    for w in warnings:
        print("WARNING: " + w)
    for f in failures:
        print("FAIL: " + f)
    print("\nresult: %s (%.0f s wall)" % ("FAIL" if failures else "PASS", time.time() - t_start))
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--build", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--duration", type=float, default=1800)
    r.add_argument("--rss-limit-mb", type=int, default=1024)
    r.add_argument("--attacks", default=",".join(ATTACKS),
                   help="comma-separated rotation (empty: no hostile clients)")
    r.add_argument("--span-rate", type=float, default=20, help="span requests/s")
    r.add_argument("--span-batch", type=int, default=50, help="spans per request (x5)")
    r.add_argument("--metric-rate", type=float, default=5, help="metric requests/s (30 points)")
    r.add_argument("--shm-rate", type=float, default=200, help="shm ticks/s (1 add + 1 span)")
    r.add_argument("--sample", type=float, default=2, help="RSS/CPU sample interval, s")
    r.add_argument("--drain", type=float, default=30, help="s to wait for delivery at the end")
    r.add_argument("--max-health-gap", type=float, default=30)
    r.add_argument("--fail-on-altered", action="store_true",
                   help="fail (not only warn) when a valid item arrives altered")
    for name in ("sink", "spans", "metrics", "shm", "hostile", "truncator"):
        p = sub.add_parser(name)
        p.add_argument("--until", type=float, default=time.time() + 3600)
        p.add_argument("--otlp")
        p.add_argument("--token")
        p.add_argument("--rate", type=float)
        p.add_argument("--batch", type=int)
        p.add_argument("--out")
        p.add_argument("--build")
        p.add_argument("--shm-dir")
        p.add_argument("--ring")
        p.add_argument("--linger-until", type=float, default=0)
        p.add_argument("--api-port", type=int)
        p.add_argument("--max-connections", type=int)
        p.add_argument("--attacks", default=",".join(ATTACKS))
    args = ap.parse_args()
    if args.cmd == "run":
        args.strobe = os.path.join(args.build, "bin", "strobe")
        args.build = os.path.abspath(args.build)
        return cmd_run(args)
    return globals()["cmd_" + args.cmd](args) or 0


if __name__ == "__main__":
    sys.exit(main())
