#!/usr/bin/python3
"""Integration test: an OTLP summary arrives on /metrics as a summary and leaves the OTLP
exporter as a summary.

Starts a capture server (an OTLP/HTTP backend that records every request body) and
`strobe serve` with the pipeline otlp_http → [prometheus, otlp_http exporter → capture server].
POSTs one summary as OTLP protobuf (encoded by protoc from text format) and another as
OTLP/JSON, then checks:
  - /metrics (Prometheus text) shows each as `# TYPE x summary` with its quantile samples,
    `_sum` and `_count` (exact values), and promtool accepts the families;
  - the OpenMetrics page parses with python3-prometheus-client's strict parser, which reads the
    family as a summary;
  - the exporter's requests (gzip protobuf), decoded with protoc and strobe's .proto schema,
    carry each metric as a Summary data point with the same count, sum, times, attributes and
    quantiles, and no gauge or sum.
Every process is started here and stopped by PID; waits poll with deadlines.

Usage: test_otlp_summary.py path/to/strobe path/to/protoc path/to/otlp/proto
"""
import gzip
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
from strobe_proc import Daemon  # noqa: E402

from prometheus_client.openmetrics.parser import text_string_to_metric_families  # noqa: E402

STROBE, PROTOC, PROTO_ROOT = sys.argv[1], sys.argv[2], sys.argv[3]
REQUEST_TYPE = "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest"
REQUEST_PROTO = "opentelemetry/proto/collector/metrics/v1/metrics_service.proto"
failures = []

T0 = 1700000000000000000
T1 = 1700000010000000000

# The protobuf request, in protobuf text format (protoc --encode turns it into the wire form).
PROTOBUF_REQUEST = """
resource_metrics {
  resource { attributes { key: "service.name" value { string_value: "checkout" } } }
  scope_metrics {
    scope { name: "it" }
    metrics {
      name: "rpc.server.duration"
      unit: "s"
      description: "RPC latency"
      summary {
        data_points {
          start_time_unix_nano: %d
          time_unix_nano: %d
          count: 10
          sum: 5.5
          attributes { key: "rpc.method" value { string_value: "Get" } }
          quantile_values { quantile: 0.5 value: 0.4 }
          quantile_values { quantile: 0.9 value: 0.8 }
          quantile_values { quantile: 0.99 value: 1.25 }
        }
      }
    }
  }
}
""" % (T0, T1)

JSON_REQUEST = json.dumps({"resourceMetrics": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
    "scopeMetrics": [{"scope": {"name": "it"}, "metrics": [{
        "name": "queue.wait", "description": "Queue wait",
        "summary": {"dataPoints": [{
            "startTimeUnixNano": str(T0), "timeUnixNano": str(T1), "count": "4", "sum": 10,
            "attributes": [{"key": "queue", "value": {"stringValue": "q1"}}],
            "quantileValues": [{"quantile": 0, "value": 1}, {"quantile": 0.5, "value": 2},
                               {"quantile": 1, "value": 5}]}]}}]}]}]})

# What each summary must look like on the way out (OTLP) and on /metrics.
WANT_OTLP = {
    "rpc.server.duration": {"count": 10, "sum": 5.5, "attributes": {"rpc.method": "Get"},
                            "quantiles": [(0.5, 0.4), (0.9, 0.8), (0.99, 1.25)]},
    "queue.wait": {"count": 4, "sum": 10.0, "attributes": {"queue": "q1"},
                   "quantiles": [(0.0, 1.0), (0.5, 2.0), (1.0, 5.0)]},
}
WANT_PROM = [
    '# HELP rpc_server_duration_seconds RPC latency\n'
    '# TYPE rpc_server_duration_seconds summary\n'
    'rpc_server_duration_seconds{job="checkout",rpc_method="Get",quantile="0.5"} 0.4\n'
    'rpc_server_duration_seconds{job="checkout",rpc_method="Get",quantile="0.9"} 0.8\n'
    'rpc_server_duration_seconds{job="checkout",rpc_method="Get",quantile="0.99"} 1.25\n'
    'rpc_server_duration_seconds_sum{job="checkout",rpc_method="Get"} 5.5\n'
    'rpc_server_duration_seconds_count{job="checkout",rpc_method="Get"} 10\n',
    '# HELP queue_wait Queue wait\n'
    '# TYPE queue_wait summary\n'
    'queue_wait{job="checkout",queue="q1",quantile="0"} 1\n'
    'queue_wait{job="checkout",queue="q1",quantile="0.5"} 2\n'
    'queue_wait{job="checkout",queue="q1",quantile="1"} 5\n'
    'queue_wait_sum{job="checkout",queue="q1"} 10\n'
    'queue_wait_count{job="checkout",queue="q1"} 4\n',
]
OUR_FAMILIES = ("rpc_server_duration_seconds", "queue_wait")


def check(cond, what, detail=""):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)
        if detail:
            print("     " + str(detail).replace("\n", "\n     "))


class Capture(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP backend that keeps every request body (decompressed) and answers 200."""
    bodies = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding", "") == "gzip":
            body = gzip.decompress(body)
        with Capture.lock:
            Capture.bodies.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def protoc(mode, data):
    r = subprocess.run([PROTOC, "-I", PROTO_ROOT, "--%s=%s" % (mode, REQUEST_TYPE), REQUEST_PROTO],
                       input=data, capture_output=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError("protoc --%s: %s" % (mode, r.stderr.decode()))
    return r.stdout


def parse_text_format(text):
    """Protobuf text format (protoc --decode output) → nested dict of lists: every field maps to
    the list of its values; messages are dicts, scalars stay strings."""
    root = {}
    stack = [root]
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line == "}":
            stack.pop()
        elif line.endswith("{"):
            child = {}
            stack[-1].setdefault(line[:-1].strip(), []).append(child)
            stack.append(child)
        else:
            key, value = line.split(":", 1)
            value = value.strip()
            if value.startswith('"'):
                value = json.loads(value)
            stack[-1].setdefault(key.strip(), []).append(value)
    return root


def exported_metrics():
    """Every Metric message the exporter sent, by name."""
    out = {}
    with Capture.lock:
        bodies = list(Capture.bodies)
    for path, _, body in bodies:
        if path != "/v1/metrics":
            continue
        req = parse_text_format(protoc("decode", body).decode())
        for rm in req.get("resource_metrics", []):
            for sm in rm.get("scope_metrics", []):
                for m in sm.get("metrics", []):
                    out.setdefault(m["name"][0], []).append(m)
    return out


def check_exported(name, metrics):
    want = WANT_OTLP[name]
    check(len(metrics) == 1, "%s: exported once" % name, metrics)
    m = metrics[0]
    check("summary" in m and not any(k in m for k in ("gauge", "sum", "histogram")),
          "%s: leaves the OTLP exporter as a summary (no gauge, no sum)" % name, m)
    if "summary" not in m:
        return
    points = m["summary"][0].get("data_points", [])
    check(len(points) == 1, "%s: one Summary data point" % name, points)
    dp = points[0]
    check(int(dp["count"][0]) == want["count"], "%s: count" % name, dp)
    check(float(dp["sum"][0]) == want["sum"], "%s: sum" % name, dp)
    check(int(dp["start_time_unix_nano"][0]) == T0 and int(dp["time_unix_nano"][0]) == T1,
          "%s: start and time" % name, dp)
    attrs = {a["key"][0]: a["value"][0]["string_value"][0] for a in dp.get("attributes", [])}
    check(attrs == want["attributes"], "%s: attributes" % name, attrs)
    quantiles = [(float(q.get("quantile", ["0"])[0]), float(q.get("value", ["0"])[0]))
                 for q in dp.get("quantile_values", [])]
    check(quantiles == want["quantiles"], "%s: the same quantiles" % name, quantiles)


def our_text(text):
    out = []
    for line in text.splitlines():
        name = line.split()[2] if line.startswith("# ") else re.split(r"[{ ]", line, 1)[0]
        if any(name == f or name.startswith(f + "_") for f in OUR_FAMILIES):
            out.append(line)
    return "\n".join(out) + "\n"


def post(port, body, content_type):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    try:
        conn.request("POST", "/v1/metrics", body=body, headers={"Content-Type": content_type})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def main():
    capture = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=capture.serve_forever, daemon=True).start()
    config = """
receivers:
  otlp_http: {endpoint: "127.0.0.1:0"}
exporters:
  prometheus: {}
  otlp_http: {endpoint: "http://127.0.0.1:%d", compression: gzip}
service:
  pipelines:
    metrics:
      receivers: [otlp_http]
      exporters: [prometheus, otlp_http]
""" % capture.server_address[1]
    d = Daemon(STROBE, config_text=config, args=["--set", "host.enabled=false"])
    try:
        d.wait_port()
        otlp = d.wait_otlp().split(":")[1]
        status, body = post(otlp, protoc("encode", PROTOBUF_REQUEST.encode()),
                            "application/x-protobuf")
        check(status == 200, "protobuf summary accepted", body)
        status, body = post(otlp, JSON_REQUEST, "application/json")
        check(status == 200, "JSON summary accepted", body)

        def text(accept="text/plain"):
            return d.request("GET", "/metrics", headers={"Accept": accept})

        d.poll(lambda: all(b.splitlines()[-1] in text()[2] for b in WANT_PROM),
               "both summaries on /metrics", timeout=20)
        status, headers, prom = text()
        check(status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4"),
              "/metrics answers Prometheus text", headers)
        for block in WANT_PROM:
            check(block in prom, "/metrics: " + block.splitlines()[1], "\n" + our_text(prom))
        with tempfile.NamedTemporaryFile("w", suffix=".prom", delete=False) as f:
            f.write(our_text(prom))
            path = f.name
        with open(path) as f:
            r = subprocess.run(["promtool", "check", "metrics"], stdin=f, capture_output=True,
                               text=True, timeout=30)
        os.unlink(path)
        check(r.returncode == 0, "promtool check metrics accepts the summaries",
              r.stdout + r.stderr)

        _, headers, om = text("application/openmetrics-text;version=1.0.0")
        check(headers.get("content-type", "").startswith("application/openmetrics-text"),
              "OpenMetrics negotiated", headers)
        try:
            fams = {f.name: f for f in text_string_to_metric_families(om)}
            fam = fams.get("rpc_server_duration_seconds")
            check(fam is not None and fam.type == "summary",
                  "OpenMetrics parser reads a summary", fam)
            if fam is not None:
                samples = {(s.name, s.labels.get("quantile")): s.value for s in fam.samples}
                check(samples.get(("rpc_server_duration_seconds", "0.99")) == 1.25 and
                      samples.get(("rpc_server_duration_seconds_count", None)) == 10 and
                      samples.get(("rpc_server_duration_seconds_created", None)) == T0 / 1e9,
                      "OpenMetrics quantile, count and created", samples)
        except Exception as e:  # the parser raises on any syntax error
            check(False, "strict OpenMetrics parser accepts the page", repr(e))

        exported = d.poll(lambda: (lambda m: m if all(n in m for n in WANT_OTLP) else None)(
            exported_metrics()), "both summaries at the OTLP backend", timeout=20)
        for name in WANT_OTLP:
            check_exported(name, exported[name])
    finally:
        d.stop()
        capture.shutdown()
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("all ok")


if __name__ == "__main__":
    main()
