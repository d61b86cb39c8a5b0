#!/usr/bin/python3
"""Integration test: `strobe serve` validates live OTLP spans against a semantic-convention
registry (the schema_validator processor).

The registry is the OpenTelemetry model in ../shared/semconv/model, copied at test time into a
temporary directory (the product reads the path it is configured with). An OTLP/HTTP client
(OTLP/JSON over HTTP, as SDK exporters send it) posts 9 spans in two requests:
  3 good HTTP server spans with current attribute names;
  2 old-style HTTP server spans (http.method, http.status_code): per span 2 deprecated + 3
    missing required (http.request.method, url.path, url.scheme) = 5 violations;
  1 server span whose http.request.method is "FETCH" (enum_value) and status code a string
    (wrong_type);
  1 client span without url.full, server.address, server.port (3 missing_required);
  1 internal span with http.colour (unknown in the http namespace) and myapp.tenant (no
    registry namespace: not reported);
  1 internal span with no attributes at all (clean).
Expected, hand-derived: validated 9, invalid 5, by rule missing_required 9, deprecated 4,
enum_value 1, wrong_type 1, unknown_attribute 1; the most violated span is "GET /legacy" (2
spans). The registry counts in /api/v1/schema are recounted here with PyYAML.

Usage: test_schema_validator.py STROBE_BINARY SOURCE_DIR
"""
import collections
import glob
import json
import os
import shutil
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
from strobe_proc import Daemon, peer_missing  # noqa: E402

DEADLINE_S = 20


def find_model(source_dir):
    candidates = []
    if os.environ.get("STROBE_SHARED_DIR"):
        candidates.append(os.path.join(os.environ["STROBE_SHARED_DIR"], "semconv", "model"))
    candidates.append(os.path.join(source_dir, "..", "shared", "semconv", "model"))
    for c in candidates:
        if os.path.isdir(c):
            return c
    peer_missing("../shared/semconv/model (set STROBE_SHARED_DIR)")


def pyyaml_counts(model):
    try:
        import yaml
    except ImportError:
        peer_missing("python3-yaml (scripts/packages.txt)")
    groups = collections.Counter()
    attributes = 0
    files = 0
    for f in glob.glob(os.path.join(model, "**", "*.yaml"), recursive=True):
        files += 1
        if os.path.basename(f) == "manifest.yaml":
            continue
        with open(f) as fh:
            d = yaml.safe_load(fh) or {}
        for g in d.get("groups") or []:
            groups[g["type"]] += 1
            attributes += sum(1 for a in g.get("attributes") or [] if "id" in a)
        groups["attribute_group"] += len(d.get("attribute_groups") or [])
        attributes += sum(1 for a in d.get("attributes") or [] if "key" in a)
    return dict(groups), attributes, files


def attr(key, value):
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


SERVER, CLIENT, INTERNAL = 2, 3, 1
span_counter = [0]


def span(name, kind, attrs):
    span_counter[0] += 1
    return {"traceId": "%032x" % (0xabc000 + span_counter[0]),
            "spanId": "%016x" % span_counter[0], "name": name, "kind": kind,
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000100000000",
            "attributes": [attr(k, v) for k, v in attrs]}


def good(i):
    return span("GET /users/:id", SERVER, [
        ("http.request.method", "GET"), ("url.path", "/users/%d" % i), ("url.scheme", "https"),
        ("http.route", "/users/:id"), ("http.response.status_code", 200),
        ("server.address", "api.example.com"), ("server.port", 443),
        ("network.protocol.version", "1.1"), ("client.address", "10.0.0.%d" % i),
        ("user_agent.original", "node")])


def request(spans):
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", "shop")]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}]}]}).encode()


def post(endpoint, body):
    req = urllib.request.Request("http://%s/v1/traces" % endpoint, data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200, r.status


def metric_value(text, name, labels):
    for line in text.splitlines():
        if line.startswith(name + "{") and all('%s="%s"' % kv in line for kv in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def main():
    binary, source_dir = sys.argv[1], sys.argv[2]
    model = find_model(source_dir)
    tmp = tempfile.mkdtemp(prefix="strobe-schema-")
    registry = os.path.join(tmp, "registry")
    shutil.copytree(model, registry)
    config = """
receivers:
  otlp_http: {endpoint: "127.0.0.1:0"}
processors:
  schema_validator: {registry: "%s", top_k: 4}
exporters:
  memory: {}
service:
  pipelines:
    traces:
      receivers: [otlp_http]
      processors: [schema_validator]
      exporters: [memory]
""" % registry
    d = Daemon(binary, config_text=config, args=["--set", "host.enabled=false"])
    try:
        d.wait_port(DEADLINE_S)
        endpoint = d.wait_otlp(DEADLINE_S)
        post(endpoint, request([good(1), good(2), good(3),
                                span("GET /legacy", SERVER, [("http.method", "GET"),
                                                             ("http.status_code", 200)])]))
        post(endpoint, request([
            span("GET /legacy", SERVER, [("http.method", "POST"), ("http.status_code", 500)]),
            span("FETCH /x", SERVER, [("http.request.method", "FETCH"), ("url.path", "/x"),
                                      ("url.scheme", "http"),
                                      ("http.response.status_code", "200")]),
            span("GET", CLIENT, [("http.request.method", "GET")]),
            span("work", INTERNAL, [("http.colour", "red"), ("myapp.tenant", "a")]),
            span("idle", INTERNAL, [])]))

        def done():
            s = d.get_json("/api/v1/schema")
            return s if s["validated"]["spans"] == 9 and len(s["top_violating"]) == 4 else None
        s = d.poll(done, "9 validated spans", timeout=DEADLINE_S)
        assert s["invalid"] == {"spans": 5, "metrics": 0, "logs": 0}, s["invalid"]
        assert s["matched"]["spans"] == 7, s["matched"]  # 3 good, 2 legacy, FETCH, client
        assert s["violations_by_rule"] == {
            "missing_required": 9, "wrong_type": 1, "enum_value": 1, "deprecated": 4,
            "unknown_attribute": 1, "metric_instrument": 0, "metric_unit": 0,
        }, s["violations_by_rule"]
        by_attr = {a["attribute"]: a for a in s["violations_by_attribute"]}
        assert by_attr["http.method"] == {"attribute": "http.method", "violations": 2,
                                          "renamed_to": "http.request.method"}, by_attr
        assert by_attr["http.status_code"]["renamed_to"] == "http.response.status_code"
        # http.request.method: missing twice (legacy) + FETCH once.
        assert by_attr["http.request.method"]["violations"] == 3, by_attr
        assert by_attr["url.full"]["violations"] == 1, by_attr
        top = s["top_violating"][0]
        assert (top["name"], top["count"], top["count_error"]) == ("GET /legacy", 2, 0), top
        assert [u["name"] for u in s["top_unknown_attributes"]] == ["http.colour"], s
        assert s["top_unknown_attributes"][0]["example_value"] == "red"

        groups, attributes, files = pyyaml_counts(registry)
        assert s["registry"]["groups"] == groups, (s["registry"]["groups"], groups)
        assert s["registry"]["attributes"] == attributes, (s["registry"]["attributes"], attributes)
        assert s["registry"]["files"] == files
        # The partial model refs jsonrpc.* attributes it does not define: 4 load errors.
        assert s["registry"]["error_count"] == 4, s["registry"]["errors"]

        # The same statistics on /metrics.
        _, _, text = d.request("GET", "/metrics")
        base = {"pipeline": "traces", "processor": "schema_validator"}
        assert metric_value(text, "strobe_processor_schema_violations_total",
                            dict(base, rule="deprecated")) == 4, text
        assert metric_value(text, "strobe_processor_schema_invalid_events_total",
                            dict(base, signal="spans")) == 5
        assert metric_value(text, "strobe_processor_schema_top_violating_span_violations",
                            dict(base, span="GET /legacy")) == 2
        # Every span went on (mode count): the pipeline exported all 9, dropped none.
        def exported():
            st = d.get_json("/api/v1/status")
            found = []

            def walk(x):
                if isinstance(x, dict):
                    if x.get("name") == "traces" and "exported" in x:
                        found.append(x)
                    for v in x.values():
                        walk(v)
                elif isinstance(x, list):
                    for v in x:
                        walk(v)
            walk(st)
            return found[0] if found and found[0]["exported"] == 9 else None
        p = d.poll(exported, "9 exported spans", timeout=DEADLINE_S)
        assert p["dropped"] == 0, p
        print("PASS")
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
