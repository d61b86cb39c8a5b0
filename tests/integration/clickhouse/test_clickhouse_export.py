#!/usr/bin/python3
"""End to end: OTLP/HTTP → `strobe serve` → the clickhouse exporter → Debian's clickhouse-server.

One daemon runs two clickhouse exporters, RowBinary into database `it_rb` and JSONEachRow into
`it_json` (both create their schema at start; user `strobe`, its password given inline to one
and in a password_file to the other). The test posts OTLP/JSON spans (3 services ×
4 traces × 5 spans, attributes of every AnyValue type, events, links, hostile strings), log
records and metric points (gauge, int sum, histogram, summary) with known content, then checks
in each database: SELECT count() equals what was sent, and every row compared field by field
with what was sent (ids, names, kinds, statuses, times, durations, attributes, events). The
exporter's self-metrics must count the same rows. Finally the spans table is dropped and more
spans are sent: the exporter recreates it (Code 60 → schema → retry) and they arrive.

Usage: test_clickhouse_export.py path/to/strobe. Needs clickhouse-server (scripts/packages.txt).
"""
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "hostile"))
from clickhouse_proc import ClickHouse, server_binary  # noqa: E402
from hostile import metric  # noqa: E402
from strobe_proc import Daemon  # noqa: E402

STROBE = sys.argv[1]
DEADLINE_S = 45
HOSTILE = 'q"uote \\back\\slash\ttab\nnl \x01ctl ü € 😀 </script>'
BASE_NS = 1_765_000_000_000_000_000  # 2025-12-06


def post(addr, path, doc):
    req = urllib.request.Request("http://%s%s" % (addr, path), data=json.dumps(doc).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def any_value(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, list):
        return {"arrayValue": {"values": [any_value(x) for x in v]}}
    if isinstance(v, dict):
        return {"kvlistValue": {"values": [{"key": k, "value": any_value(x)} for k, x in v.items()]}}
    return {"stringValue": v}


def attrs(d):
    return [{"key": k, "value": any_value(v)} for k, v in d.items()]


def spans_request(rng, batch):
    """OTLP/JSON traces and the rows they must become, keyed by SpanId."""
    expected = {}
    resource_spans = []
    for svc in range(3):
        service = "svc-%d-%d" % (batch, svc)
        spans = []
        for t in range(4):
            trace_id = "%032x" % rng.getrandbits(128)
            ids = ["%016x" % rng.getrandbits(64) for _ in range(5)]
            for i, sid in enumerate(ids):
                parent = "" if i == 0 else ids[0]
                start = BASE_NS + batch * 10**9 + svc * 10**7 + t * 10**5 + i * 1000
                dur = 1000 * (i + 1) + t
                span_attrs = {"str": "v-%d" % i, "int": -9007199254740993 + i, "dbl": 0.25 * i,
                              "flag": i % 2 == 0, "list": ["a", 7], "map": {"k": "v"}}
                name = HOSTILE if (t == 1 and i == 2) else "op-%d" % i
                events = [{"timeUnixNano": str(start + 10), "name": "ev-%d" % i,
                           "attributes": attrs({"ek": "ev", "en": i})}] if i < 3 else []
                links = [{"traceId": "%032x" % 7, "spanId": "%016x" % 9}] if i == 4 else []
                status = {"code": 2, "message": "bad " + HOSTILE} if i == 3 else (
                    {"code": 1} if i == 1 else {})
                kind = 2 if i == 0 else 3
                spans.append({"traceId": trace_id, "spanId": sid, "parentSpanId": parent,
                              "name": name, "kind": kind, "startTimeUnixNano": str(start),
                              "endTimeUnixNano": str(start + dur), "attributes": attrs(span_attrs),
                              "events": events, "links": links, "status": status})
                expected[sid] = {
                    "TraceId": trace_id, "SpanId": sid, "ParentSpanId": parent, "Name": name,
                    "Kind": "SERVER" if kind == 2 else "CLIENT", "ServiceName": service,
                    "StatusCode": {2: "ERROR", 1: "OK"}.get(status.get("code"), "UNSET"),
                    "StatusMessage": status.get("message", ""),
                    "StartTimeUnixNano": str(start), "DurationNano": str(dur),
                    "Timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start // 10**9)),
                    "Date": time.strftime("%Y-%m-%d", time.gmtime(start // 10**9)),
                    "ScopeName": "it-scope", "ScopeVersion": "1.2",
                    "Attributes.Key": ["str", "int", "dbl", "flag", "list", "map"],
                    "Attributes.Value": ["v-%d" % i, str(-9007199254740993 + i),
                                         repr(0.25 * i).rstrip("0").rstrip(".") if i else "0",
                                         "true" if i % 2 == 0 else "false", '["a",7]',
                                         '{"k":"v"}'],
                    "ResourceAttributes.Key": ["service.name", "host.name"],
                    "ResourceAttributes.Value": [service, "h\"1"],
                    "Events.TimeUnixNano": [str(start + 10)] if events else [],
                    "Events.Name": ["ev-%d" % i] if events else [],
                    "Events.AttributeKeys": [["ek", "en"]] if events else [],
                    "Events.AttributeValues": [["ev", str(i)]] if events else [],
                    "Links.TraceId": ["%032x" % 7] if links else [],
                    "Links.SpanId": ["%016x" % 9] if links else [],
                }
        resource_spans.append({
            "resource": {"attributes": attrs({"service.name": service, "host.name": 'h"1'})},
            "scopeSpans": [{"scope": {"name": "it-scope", "version": "1.2"}, "spans": spans}],
        })
    return {"resourceSpans": resource_spans}, expected


def logs_request(n):
    records, expected = [], {}
    for i in range(n):
        t = BASE_NS + i * 1000
        body = "log %d %s" % (i, HOSTILE)
        rec = {"timeUnixNano": str(t), "observedTimeUnixNano": str(t + 1),
               "severityNumber": 9 + (i % 3) * 4, "severityText": ["INFO", "WARN", "ERROR"][i % 3],
               "body": {"stringValue": body}, "attributes": attrs({"i": i, "s": "x%d" % i})}
        if i % 2 == 0:
            rec["traceId"] = "%032x" % (1000 + i)
            rec["spanId"] = "%016x" % (2000 + i)
        records.append(rec)
        expected[str(t)] = {
            "TimeUnixNano": str(t), "ObservedTimeUnixNano": str(t + 1),
            "SeverityNumber": 9 + (i % 3) * 4, "SeverityText": ["INFO", "WARN", "ERROR"][i % 3],
            "Body": body, "ServiceName": "log-svc",
            "TraceId": "%032x" % (1000 + i) if i % 2 == 0 else "",
            "SpanId": "%016x" % (2000 + i) if i % 2 == 0 else "",
            "Attributes.Key": ["i", "s"], "Attributes.Value": [str(i), "x%d" % i],
        }
    doc = {"resourceLogs": [{"resource": {"attributes": attrs({"service.name": "log-svc"})},
                             "scopeLogs": [{"scope": {"name": "it"}, "logRecords": records}]}]}
    return doc, expected


def metrics_request():
    t = str(BASE_NS)
    st = str(BASE_NS - 10**9)
    metrics = [
        {"name": "it.gauge", "unit": "1", "gauge": {"dataPoints": [
            {"timeUnixNano": t, "asDouble": 2.5, "attributes": attrs({"host": "a"})},
            {"timeUnixNano": t, "asDouble": -1.0, "attributes": attrs({"host": "b"})}]}},
        {"name": "it.sum", "sum": {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": [
            {"timeUnixNano": t, "startTimeUnixNano": st, "asInt": "9007199254740993"}]}},
        {"name": "it.hist", "histogram": {"aggregationTemporality": 2, "dataPoints": [
            {"timeUnixNano": t, "startTimeUnixNano": st, "count": "9", "sum": 20.5,
             "bucketCounts": ["2", "3", "4"], "explicitBounds": [1, 5], "min": 0.5, "max": 7}]}},
        {"name": "it.summary", "summary": {"dataPoints": [
            {"timeUnixNano": t, "startTimeUnixNano": st, "count": "10", "sum": 55,
             "quantileValues": [{"quantile": 0.5, "value": 2}, {"quantile": 0.99, "value": 9}]}]}},
    ]
    doc = {"resourceMetrics": [{"resource": {"attributes": attrs({"service.name": "m-svc"})},
                                "scopeMetrics": [{"metrics": metrics}]}]}
    expected = {
        ("it.gauge", "a"): {"Type": "gauge", "Value": 2.5, "Labels.Key": ["host"],
                            "Labels.Value": ["a"], "TimeUnixNano": t},
        ("it.gauge", "b"): {"Type": "gauge", "Value": -1, "Labels.Value": ["b"]},
        ("it.sum", ""): {"Type": "sum", "Temporality": "cumulative", "IsMonotonic": 1,
                         "IntValue": "9007199254740993", "StartTimeUnixNano": st},
        ("it.hist", ""): {"Type": "histogram", "Count": "9", "Sum": 20.5, "Min": 0.5, "Max": 7,
                          "BucketBounds": [1, 5], "BucketCounts": ["2", "3", "4"]},
        ("it.summary", ""): {"Type": "summary", "Count": "10", "Sum": 55,
                             "Quantiles.Quantile": [0.5, 0.99], "Quantiles.Value": [2, 9]},
    }
    return doc, expected


def rows(ch, sql):
    body = ch.ok(sql + " FORMAT JSONEachRow")
    return [json.loads(line) for line in body.splitlines() if line]


def count(ch, table):
    status, body = ch.query("SELECT count() FROM " + table)
    return int(body) if status == 200 else -1


def wait_count(ch, table, want):
    deadline = time.time() + DEADLINE_S
    got = -1
    while time.time() < deadline:
        got = count(ch, table)
        if got >= want:
            break
        time.sleep(0.1)
    assert got == want, "%s: count() = %d, sent %d" % (table, got, want)


def check_rows(got_rows, key, expected, what):
    by_key = {key(r): r for r in got_rows}
    assert len(by_key) == len(got_rows) == len(expected), (what, len(got_rows), len(expected))
    for k, want in expected.items():
        assert k in by_key, (what, "missing", k)
        row = by_key[k]
        for field, value in want.items():
            assert row[field] == value, (what, k, field, row[field], value)


def main():
    if server_binary() is None:
        print("FAIL: clickhouse-server is not installed (scripts/packages.txt)")
        sys.exit(1)
    ch = ClickHouse()
    d = None
    try:
        pwfile = os.path.join(ch.dir, "password")  # the token-file rules: mode 0600
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, (ch.password + "\n").encode())
        os.close(fd)
        config = """
receivers:
  otlp_http: {endpoint: "127.0.0.1:0"}
exporters:
  clickhouse/rb: {endpoint: "%(ep)s", database: it_rb, user: strobe, password: "%(pw)s"}
  clickhouse/json:
    endpoint: "%(ep)s"
    database: it_json
    table_prefix: "t_"
    format: JSONEachRow
    user: strobe
    password_file: "%(pwfile)s"
service:
  pipelines:
    traces: {receivers: [otlp_http], exporters: [clickhouse/rb, clickhouse/json]}
    logs: {receivers: [otlp_http], exporters: [clickhouse/rb, clickhouse/json]}
    metrics: {receivers: [otlp_http], exporters: [clickhouse/rb, clickhouse/json]}
""" % {"ep": ch.endpoint, "pw": ch.password, "pwfile": pwfile}
        d = Daemon(STROBE, config_text=config, args=["--set", "host.enabled=false"])
        d.wait_port(DEADLINE_S)
        otlp = d.wait_otlp(DEADLINE_S)
        # Start() created both schemas before the daemon said ready: no data needed.
        for db, prefix in (("it_rb", ""), ("it_json", "t_")):
            for t in ("spans", "logs", "metrics"):
                assert ch.ok("EXISTS TABLE `%s`.`%s%s`" % (db, prefix, t)).strip() == "1", (db, t)
        rng = random.Random(16)
        expected_spans = {}
        for batch in range(3):
            doc, exp = spans_request(rng, batch)
            assert post(otlp, "/v1/traces", doc) == 200
            expected_spans.update(exp)
        logs_doc, expected_logs = logs_request(40)
        assert post(otlp, "/v1/logs", logs_doc) == 200
        metrics_doc, expected_metrics = metrics_request()
        assert post(otlp, "/v1/metrics", metrics_doc) == 200

        tables = {"it_rb": ("`it_rb`.`spans`", "`it_rb`.`logs`", "`it_rb`.`metrics`"),
                  "it_json": ("`it_json`.`t_spans`", "`it_json`.`t_logs`", "`it_json`.`t_metrics`")}
        for db, (spans_t, logs_t, metrics_t) in tables.items():
            wait_count(ch, spans_t, len(expected_spans))
            wait_count(ch, logs_t, len(expected_logs))
            wait_count(ch, metrics_t, 5)
            check_rows(rows(ch, "SELECT * FROM " + spans_t), lambda r: r["SpanId"],
                       expected_spans, db + " spans")
            check_rows(rows(ch, "SELECT * FROM " + logs_t), lambda r: r["TimeUnixNano"],
                       expected_logs, db + " logs")
            check_rows(rows(ch, "SELECT * FROM " + metrics_t),
                       lambda r: (r["Name"], (r["Labels.Value"] or [""])[0]),
                       expected_metrics, db + " metrics")
            # The same hostile span name came through byte for byte (checked as hex so that the
            # JSON output's own escaping is out of the picture).
            hexname = ch.ok("SELECT DISTINCT hex(Name) FROM %s WHERE Name LIKE 'q%%' FORMAT TSV" % spans_t)
            assert hexname.strip() == HOSTILE.encode().hex().upper(), (db, hexname)
            name = "clickhouse/rb" if db == "it_rb" else "clickhouse/json"
            for table, n in (("spans", len(expected_spans)), ("logs", len(expected_logs)),
                             ("metrics", 5)):
                got = metric(d, "strobe_clickhouse_rows_inserted_total", exporter=name, table=table)
                assert got == n, (name, table, got, n)
            print("%s: %d spans, %d logs, 5 points match field by field" % (
                db, len(expected_spans), len(expected_logs)))

        # Someone drops the spans table: the next insert finds it missing (Code 60), the
        # exporter hands the batch back, recreates the schema and the pipeline's retry lands it.
        ch.ok("DROP TABLE `it_rb`.`spans`")
        doc, exp = spans_request(rng, 9)
        assert post(otlp, "/v1/traces", doc) == 200
        wait_count(ch, "`it_rb`.`spans`", len(exp))
        wait_count(ch, "`it_json`.`t_spans`", len(expected_spans) + len(exp))
        check_rows(rows(ch, "SELECT * FROM `it_rb`.`spans`"), lambda r: r["SpanId"], exp,
                   "recreated spans")
        assert metric(d, "strobe_clickhouse_insert_errors_total", exporter="clickhouse/rb",
                      table="spans", reason="table_missing") == 1
        assert metric(d, "strobe_exporter_send_failed_spans_total") == 0
        print("clickhouse export: OK (RowBinary and JSONEachRow; table recreated after DROP)")
    except Exception:
        if d is not None:
            print("--- strobe log ---\n" + d.read_log()[-4000:])
        print("--- clickhouse log ---\n" + ch.read_log()[-3000:])
        raise
    finally:
        if d is not None:
            d.stop()
        ch.stop()


if __name__ == "__main__":
    main()
