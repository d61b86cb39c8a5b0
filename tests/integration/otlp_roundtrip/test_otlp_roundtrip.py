#!/usr/bin/python3
"""Integration test: strobe A exports OTLP to strobe B; every span arrives with its attributes.

B: otlp_http receiver → trace_analysis (spans readable at /api/v1/traces/{id}).
A: otlp_http receiver → otlp_http exporter (gzip protobuf) → B.
The test posts OTLP/JSON traces (3 traces × 4 spans, attributes of every AnyValue type,
events, status) to A and polls B until every span is there, comparing each span's name,
parent, kind, status and every attribute value.

Usage: test_otlp_roundtrip.py SERVER_BINARY
  SERVER_BINARY is bench/otlp's otlp_ingest_server or the product, `strobe` (then both A and B
  are `strobe serve` processes with the same pipeline sections).
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
from strobe_proc import Daemon, stop_process  # noqa: E402

DEADLINE_S = 20


def start_strobe_serve(binary, config):
    """`strobe serve` (tests/integration/daemon/strobe_proc.py) on free ports."""
    d = Daemon(binary, args=["--config", config, "--set", "host.enabled=false"])
    d.wait_port(DEADLINE_S)
    return d.proc, d.wait_otlp(DEADLINE_S), "127.0.0.1:%d" % d.port


def start(binary, config_text):
    cfg = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    cfg.write(config_text)
    cfg.close()
    if os.path.basename(binary) == "strobe":
        return start_strobe_serve(binary, cfg.name)
    out = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([binary, "--config", cfg.name], stdout=out, stderr=subprocess.PIPE,
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
    raise RuntimeError("server not ready")


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def make_request(rng):
    traces = []
    resource_spans = []
    for t in range(3):
        trace_id = "%032x" % rng.getrandbits(128)
        ids = ["%016x" % rng.getrandbits(64) for _ in range(4)]
        spans = []
        expected = {}
        for i, sid in enumerate(ids):
            parent = "" if i == 0 else ids[0] if i < 3 else ids[1]
            attrs = [
                {"key": "str", "value": {"stringValue": f"value {t}-{i} ü"}},
                {"key": "int", "value": {"intValue": str(1000 * t + i)}},
                {"key": "neg", "value": {"intValue": "-9007199254740993"}},
                {"key": "dbl", "value": {"doubleValue": 0.25 * (i + 1)}},
                {"key": "flag", "value": {"boolValue": i % 2 == 0}},
                {"key": "list", "value": {"arrayValue": {"values": [
                    {"stringValue": "a"}, {"intValue": "7"}]}}},
                {"key": "map", "value": {"kvlistValue": {"values": [
                    {"key": "k", "value": {"stringValue": "v"}}]}}},
            ]
            start = 1_700_000_000_000_000_000 + t * 1_000_000_000 + i * 1000
            spans.append({
                "traceId": trace_id, "spanId": sid, "parentSpanId": parent,
                "name": f"op-{i}", "kind": 2 if i == 0 else 3,
                "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 500_000),
                "attributes": attrs,
                "events": [{"timeUnixNano": str(start + 10), "name": "ev"}],
                "status": {"code": 2, "message": "bad"} if i == 3 else {},
            })
            expected[sid] = {
                "name": f"op-{i}", "parent": parent, "kind": "server" if i == 0 else "client",
                "status": "error" if i == 3 else "unset",
                "attributes": {
                    "str": f"value {t}-{i} ü", "int": str(1000 * t + i),
                    "neg": "-9007199254740993", "dbl": "%.17g" % (0.25 * (i + 1)),
                    "flag": "true" if i % 2 == 0 else "false",
                    "list": '["a", 7]', "map": "{k=v}",
                },
            }
        traces.append((trace_id, expected))
        resource_spans.append({
            "resource": {"attributes": [{"key": "service.name",
                                         "value": {"stringValue": f"svc-{t}"}}]},
            "scopeSpans": [{"scope": {"name": "roundtrip"}, "spans": spans}],
        })
    return json.dumps({"resourceSpans": resource_spans}).encode(), traces


def main():
    binary = sys.argv[1]
    procs = []
    try:
        b, b_otlp, b_api = start(binary, """
receivers:
  otlp_http: {endpoint: "127.0.0.1:0"}
exporters:
  trace_analysis: {quiet_period: 200ms}
service:
  pipelines:
    traces: {receivers: [otlp_http], exporters: [trace_analysis]}
""")
        procs.append(b)
        a, a_otlp, _ = start(binary, f"""
receivers:
  otlp_http: {{endpoint: "127.0.0.1:0"}}
exporters:
  otlp_http: {{endpoint: "http://{b_otlp}", headers: {{X-Test: roundtrip}}}}
service:
  pipelines:
    traces: {{receivers: [otlp_http], exporters: [otlp_http]}}
""")
        procs.append(a)
        body, traces = make_request(random.Random(42))
        status, resp = http("POST", f"http://{a_otlp}/v1/traces", body,
                            {"Content-Type": "application/json"})
        assert status == 200, (status, resp)
        for trace_id, expected in traces:
            deadline = time.time() + DEADLINE_S
            got = None
            while time.time() < deadline:
                st, raw = http("GET", f"http://{b_api}/api/v1/traces/{trace_id}")
                if st == 200:
                    got = json.loads(raw)
                    if got["complete"] and got["spanCount"] == len(expected):
                        break
                time.sleep(0.1)
            assert got is not None and got["spanCount"] == len(expected), got
            for s in got["spans"]:
                e = expected[s["spanId"]]
                assert s["name"] == e["name"], (s, e)
                assert s["parentSpanId"] == e["parent"], (s, e)
                assert s["kind"] == e["kind"], (s, e)
                assert s["status"]["code"] == e["status"], (s, e)
                assert s["attributes"] == e["attributes"], (s["attributes"], e["attributes"])
        print("otlp roundtrip (%s): OK (%d spans)" % (os.path.basename(binary),
                                                     sum(len(e) for _, e in traces)))
    finally:
        for p in procs:
            stop_process(p)


if __name__ == "__main__":
    main()
