#!/usr/bin/python3
"""Integration test: the real OpenTelemetry JS SDK's gRPC exporters (npm) → `strobe serve`'s
OTLP/gRPC receiver (otlp_grpc).

Starts `strobe serve` (free loopback ports) with serve.yaml, runs emit.js with Node (traces,
metrics and logs through @opentelemetry/exporter-{trace,metrics,logs}-otlp-grpc, then raw gRPC
probes with bad input), and asserts through strobe: the exact spans of the trace with their
parent links, status and attributes (/api/v1/traces), the metric values (/metrics, prometheus
exporter), the receiver's accepted counts, the status code and count of every probe, and,
once the daemon has drained and stopped, the three log records with their bodies, severities
and attributes (debug exporter file).

Usage: test_otel_js_grpc.py STROBE_BINARY
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
from strobe_proc import Daemon, peer_missing, stop_process  # noqa: E402

DEADLINE_S = 20
GRPC_INVALID_ARGUMENT = 3
GRPC_UNIMPLEMENTED = 12


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read()


def poll(fn, what):
    deadline = time.time() + DEADLINE_S
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (AssertionError, OSError) as e:  # not there yet
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
    if not os.path.isdir(os.path.join(HERE, "node_modules", "@opentelemetry",
                                      "exporter-trace-otlp-grpc")):
        peer_missing("the OpenTelemetry JS gRPC exporters (npm ci in tests/integration/otel_js_grpc)")


def main():
    binary = sys.argv[1]
    require_sdk()
    tmp = tempfile.mkdtemp(prefix="strobe-grpc-it-")
    debug_out = os.path.join(tmp, "logs.txt")
    with open(os.path.join(HERE, "serve.yaml")) as f:
        config = f.read().replace("DEBUG_OUT", debug_out)
    d = Daemon(binary, args=["--set", "host.enabled=false"], config_text=config)
    try:
        d.wait_port(DEADLINE_S)
        api = "127.0.0.1:%d" % d.port

        def grpc_address():
            log = d.read_log()
            m = re.search(r"otlp_grpc listening on ([0-9.]+:[0-9]+)", log)
            assert d.proc.poll() is None, log
            return m.group(1) if m and " ready " in log else None

        target = poll(grpc_address, "the otlp_grpc listener")
        emit = subprocess.run(["node", os.path.join(HERE, "emit.js"), target],
                              capture_output=True, text=True, timeout=60, cwd=HERE)
        assert emit.returncode == 0, emit.stderr
        out = json.loads(emit.stdout.strip().splitlines()[-1])
        trace_id = out["traceId"]

        # Traces: the exact tree, with status and attributes.
        def complete_trace():
            _, body = get(f"http://{api}/api/v1/traces/{trace_id}")
            t = json.loads(body)
            return t if t["complete"] and t["spanCount"] == 5 else None

        t = poll(complete_trace, "the complete trace")
        spans = {s["name"]: s for s in t["spans"]}
        assert set(spans) == {"GET /checkout", "call backend", "POST /charge", "SELECT", "render"}
        parent = {n: s["parentSpanId"] for n, s in spans.items()}
        sid = {n: s["spanId"] for n, s in spans.items()}
        assert parent == {"GET /checkout": "", "call backend": sid["GET /checkout"],
                          "render": sid["GET /checkout"], "POST /charge": sid["call backend"],
                          "SELECT": sid["POST /charge"]}, parent
        assert spans["SELECT"]["status"] == {"code": "error", "message": "deadlock"}
        assert spans["SELECT"]["attributes"]["db.system"] == "postgresql", spans["SELECT"]
        assert spans["POST /charge"]["attributes"]["payment.amount"] == "1299"
        assert spans["GET /checkout"]["attributes"]["http.method"] == "GET"
        assert spans["POST /charge"]["service"] == "backend"
        assert spans["GET /checkout"]["service"] == "frontend"
        assert t["errorSpans"] == 1 and t["durationNs"] == 100_000_000, t

        # Metrics: the prometheus exporter's series (job = service.name).
        def metrics_text():
            _, text = get(f"http://{api}/metrics")
            text = text.decode()
            return text if "queue_depth{" in text and "latency_ms_count{" in text else None

        text = poll(metrics_text, "metrics on /metrics")
        assert metric_value(text, 'requests_total{job="frontend",route="/checkout"}') == 7, text
        assert metric_value(text, 'latency_ms_count{job="frontend"}') == 3, text
        assert metric_value(text, 'latency_ms_sum{job="frontend"}') == 270, text
        assert metric_value(text, 'queue_depth{job="frontend"}') == 42, text

        # Bad input over gRPC: the status OTLP asks for, counted; the server keeps serving.
        assert out["probes"] == {"truncated": GRPC_INVALID_ARGUMENT,
                                 "wrong_content": GRPC_INVALID_ARGUMENT,
                                 "unknown_method": GRPC_UNIMPLEMENTED}, out["probes"]
        _, text = get(f"http://{api}/metrics")
        text = text.decode()
        acc = 'strobe_receiver_accepted_%s_total{receiver="otlp_grpc"}'
        assert metric_value(text, acc % "spans") == 5, text
        assert metric_value(text, acc % "log_records") == 3, text
        # requests (1 point), latency_ms (1 histogram point), queue_depth (1 point).
        assert metric_value(text, acc % "metric_points") == 3, text
        refused = ('strobe_receiver_refused_requests_total{receiver="otlp_grpc",signal="traces",'
                   'reason="invalid"}')
        assert metric_value(text, refused) == 2, text
        calls = 'strobe_grpc_requests_total{listener="otlp_grpc",signal="%s",code="%s"}'
        assert metric_value(text, calls % ("traces", "INVALID_ARGUMENT")) == 2, text
        assert metric_value(text, calls % ("unknown", "UNIMPLEMENTED")) == 1, text
        assert metric_value(text, calls % ("logs", "OK")) >= 1, text
        assert d.proc.poll() is None, "server died"
        # The debug exporter's file is complete once the daemon has drained and stopped.
        stop_process(d.proc)
        assert d.proc.returncode == 0, d.read_log()
        # Logs: three records, each with its body, severity and attributes.
        with open(debug_out) as f:
            lines = [l for l in f.read().splitlines() if l.strip().startswith("log ")]
        assert len(lines) == 3, lines
        by_body = {}
        for line in lines:
            m = re.search(r"severity=(\d+) body=(.*) attrs=(.*) time=", line)
            assert m, line
            by_body[m.group(2)] = (int(m.group(1)), m.group(3))
        # The debug exporter quotes string values; severity numbers: INFO 9, ERROR 17.
        assert by_body == {'"order placed"': (9, '{order.id="A-1", items=3}'),
                           '"payment failed"': (17, '{order.id="A-2", items=1}'),
                           '"order shipped"': (9, '{order.id="A-3", items=2}')}, by_body

        print("otel_js_grpc integration: OK")
    finally:
        stop_process(d.proc)


if __name__ == "__main__":
    main()
