#!/usr/bin/python3
"""Integration test: the real OpenTelemetry JS SDK (npm) → strobe's OTLP/HTTP receiver.

Starts strobe's OTLP ingest (otlp_http receiver → pipeline → trace_analysis / memory
exporters, on free loopback ports), runs emit.js with Node, then asserts through strobe's
HTTP API: the exact span count, parent links, the error status, the critical path, the
service-graph edge and the metric values; then sends bad input (truncated protobuf, wrong
content type, invalid JSON, ids of the wrong length, a 100 MB body) and checks each status
code, that refusals are counted, and that the server keeps serving.

Usage: test_otel_js.py SERVER_BINARY
  SERVER_BINARY is either bench/otlp's otlp_ingest_server (the ingest path standing alone) or
  the product, `strobe` (run as `strobe serve` with serve.yaml: the same receiver, trace
  analysis and the prometheus exporter; the metric values are then read from /metrics).
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
from strobe_proc import Daemon, peer_missing, stop_process  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEADLINE_S = 20


def start_strobe_serve(binary, config):
    """`strobe serve` (tests/integration/daemon/strobe_proc.py) on free ports."""
    d = Daemon(binary, args=["--config", config, "--set", "host.enabled=false"])
    d.wait_port(DEADLINE_S)
    return d.proc, d.wait_otlp(DEADLINE_S), "127.0.0.1:%d" % d.port


def start_server(binary, config):
    out = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([binary, "--config", config], stdout=out, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + DEADLINE_S
    while time.time() < deadline:
        out.seek(0)
        line = out.readline()
        if line.startswith("ready"):
            fields = dict(kv.split("=", 1) for kv in line.split()[1:])
            return proc, fields["otlp_http"], fields["api"]
        if proc.poll() is not None:
            raise RuntimeError("server exited: " + proc.stderr.read())
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server not ready in time")


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def post_large(hostport, path, size, content_type):
    """POSTs `size` zero bytes; a server may answer 413 and close before the body is sent,
    so the response is read even when sending fails."""
    import socket
    host, port = hostport.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: {content_type}\r\n"
                  f"Content-Length: {size}\r\nConnection: close\r\n\r\n".encode())
        chunk = b"\0" * (1 << 20)
        try:
            for _ in range(size // len(chunk)):
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
        except ConnectionResetError:
            pass
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else 0


def get_json(url):
    status, body, _ = http("GET", url)
    assert status == 200, (url, status, body)
    return json.loads(body)


def poll(fn, what):
    deadline = time.time() + DEADLINE_S
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except AssertionError as e:  # not there yet
            last = e
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {last}")


def metric_value(text, sample):
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    return None


def require_sdk():
    """node and the npm packages (scripts/bootstrap runs `npm ci` here), else peer_missing."""
    if shutil.which("node") is None:
        peer_missing("node")
    if not os.path.isdir(os.path.join(HERE, "node_modules", "@opentelemetry", "sdk-trace-base")):
        peer_missing("the OpenTelemetry JS SDK (npm ci in tests/integration/otel_js)")


def main():
    binary = sys.argv[1]
    require_sdk()
    serve = os.path.basename(binary) == "strobe"
    if serve:
        proc, otlp, api = start_strobe_serve(binary, os.path.join(HERE, "serve.yaml"))
    else:
        proc, otlp, api = start_server(binary, os.path.join(HERE, "pipeline.yaml"))
    try:
        emit = subprocess.run(["node", os.path.join(HERE, "emit.js"), "http://" + otlp],
                              capture_output=True, text=True, timeout=60, cwd=HERE)
        assert emit.returncode == 0, emit.stderr
        trace_id = json.loads(emit.stdout.strip().splitlines()[-1])["traceId"]

        def complete_trace():
            t = get_json(f"http://{api}/api/v1/traces/{trace_id}")
            return t if t["complete"] and t["spanCount"] == 5 else None

        t = poll(complete_trace, "the complete trace")
        assert t["spanCount"] == 5, t
        spans = {s["name"]: s for s in t["spans"]}
        assert set(spans) == {"GET /checkout", "call backend", "POST /charge", "SELECT", "render"}
        parent = {n: s["parentSpanId"] for n, s in spans.items()}
        sid = {n: s["spanId"] for n, s in spans.items()}
        assert parent["GET /checkout"] == ""
        assert parent["call backend"] == sid["GET /checkout"]
        assert parent["render"] == sid["GET /checkout"]
        assert parent["POST /charge"] == sid["call backend"]
        assert parent["SELECT"] == sid["POST /charge"]
        assert spans["SELECT"]["status"] == {"code": "error", "message": "deadlock"}, spans["SELECT"]
        assert t["errorSpans"] == 1
        assert spans["POST /charge"]["service"] == "backend"
        assert spans["GET /checkout"]["service"] == "frontend"
        assert spans["POST /charge"]["attributes"]["payment.amount"] == "1299"
        assert t["durationNs"] == 100_000_000, t["durationNs"]
        # Critical path (ms): root 12 (0-10, 98-100), render 8, client 10, server 10, db 60.
        crit = {c["name"]: c["contributionNs"] / 1e6 for c in t["criticalPath"]}
        assert crit == {"GET /checkout": 12, "render": 8, "call backend": 10,
                        "POST /charge": 10, "SELECT": 60}, crit
        assert [c["name"] for c in t["criticalPath"]] == [
            "GET /checkout", "render", "call backend", "POST /charge", "SELECT"]

        g = get_json(f"http://{api}/api/v1/service-graph")
        edges = {(e["client"], e["server"]): e for e in g["edges"]}
        assert ("frontend", "backend") in edges, g
        e = edges[("frontend", "backend")]
        assert e["calls"] == 1 and e["errors"] == 0, e
        assert 70 <= e["p50Ms"] <= 85, e  # the 70 ms server span, within histogram error

        if serve:
            # The prometheus exporter's series on strobe serve's /metrics (OTel → Prometheus
            # naming; job is the resource's service.name).
            def metrics_text():
                _, text, _ = http("GET", f"http://{api}/metrics")
                text = text.decode()
                return text if "queue_depth{" in text and "latency_ms_count{" in text else None

            text = poll(metrics_text, "metrics on /metrics")
            assert metric_value(text, 'requests_total{job="frontend",route="/checkout"}') == 7, text
            assert metric_value(text, 'latency_ms_count{job="frontend"}') == 3, text
            assert metric_value(text, 'latency_ms_sum{job="frontend"}') == 270, text
            assert metric_value(text, 'queue_depth{job="frontend"}') == 42, text
        else:
            def metrics():
                m = get_json(f"http://{api}/api/v1/received-metrics")
                return m if len(m) >= 3 else None

            m = {p["name"]: p for p in poll(metrics, "metrics")}
            assert m["requests"]["value"] == 7 and m["requests"]["labels"] == {"route": "/checkout"}, m
            assert m["requests"]["type"] == 1 and m["requests"]["temporality"] == 2  # cumulative
            assert m["latency_ms"]["count"] == 3 and m["latency_ms"]["sum"] == 270, m
            assert m["queue_depth"]["value"] == 42, m

        # Bad input: each gets its status, is counted, and the server keeps serving.
        url = f"http://{otlp}/v1/traces"
        pb = {"Content-Type": "application/x-protobuf"}
        status, body, _ = http("POST", url, b"\x0a\xff\xff\x0f\x01", pb)
        assert status == 400 and b"malformed protobuf" in body, (status, body)
        status, body, _ = http("POST", url, b"{}", {"Content-Type": "text/plain"})
        assert status == 415, status
        status, body, _ = http("POST", url, b"{not json", {"Content-Type": "application/json"})
        assert status == 400 and b"invalid JSON" in body, (status, body)
        bad_id = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
            {"traceId": "abcd", "spanId": "0102030405060708", "name": "x"}]}]}]}).encode()
        status, body, _ = http("POST", url, bad_id, {"Content-Type": "application/json"})
        assert status == 400 and b"traceId" in body, (status, body)
        status = post_large(otlp, "/v1/traces", 100 << 20, "application/x-protobuf")
        assert status == 413, status
        status, body, _ = http("POST", url, gzip.compress(b"\0" * (80 << 20)),
                               {**pb, "Content-Encoding": "gzip"})
        assert status == 413, status
        _, text, _ = http("GET", f"http://{api}/metrics")
        text = text.decode()
        assert metric_value(text, 'strobe_receiver_accepted_spans_total{receiver="otlp_http"}') == 5
        refused = 'strobe_receiver_refused_requests_total{receiver="otlp_http",signal="traces",reason="%s"}'
        assert metric_value(text, refused % "invalid") == 3, text
        assert metric_value(text, refused % "unsupported_media_type") == 1, text
        assert metric_value(text, refused % "too_large") == 1, text  # the gzip bomb
        # The 100 MB body is refused by the HTTP server before the handler (Content-Length).
        status, _, _ = http("GET", f"http://{api}/api/v1/service-graph")
        assert status == 200
        assert proc.poll() is None, "server died"
        print("otel_js integration (%s): OK" % ("strobe serve" if serve else "otlp_ingest_server"))
    finally:
        stop_process(proc)


if __name__ == "__main__":
    main()
