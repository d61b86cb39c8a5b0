#!/usr/bin/python3
"""Integration test: metrics pushed by the prometheus_remote_write exporter into a real
VictoriaMetrics and a real Prometheus read back exactly.

Starts VictoriaMetrics, Prometheus (--web.enable-remote-write-receiver) and `strobe serve` with
the pipeline otlp_http → [prometheus_remote_write/vm, prometheus_remote_write/prom], each on
127.0.0.1 with a free port and a throwaway directory. POSTs one OTLP/HTTP JSON request with a
cumulative counter, a gauge, an explicit histogram, a summary (one resource with service.name,
service.namespace, service.instance.id, host.name) and a delta sum, then polls (deadline 60 s:
VictoriaMetrics makes a new series queryable only at its next 10 s tick) until
  - VictoriaMetrics' /api/v1/export and
  - Prometheus' /api/v1/query {source="strobe"}
hold exactly the expected series — label sets equal, values and (VM) timestamps equal — and
nothing else; then checks strobe's self-metrics: 12 samples delivered per exporter, the delta
point refused and counted (reason delta_temporality), no request failed.
Every process is started here and stopped by PID.

Usage: test_remote_write.py path/to/strobe. Needs the victoria-metrics and prometheus packages
(a missing peer is a failure, never a skip).
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
from strobe_proc import Daemon, stop_process  # noqa: E402

STROBE = sys.argv[1]
DEADLINE_S = 60
NOW_MS = int(time.time() * 1000) - 5000  # a little in the past: both stores accept it
T_NS = str(NOW_MS * 1_000_000)
START_NS = str((NOW_MS - 60_000) * 1_000_000)
failures = []


def check(cond, what, detail=""):
    print(("ok: " if cond else "FAIL: ") + what + (("\n" + str(detail)) if not cond and detail else ""))
    if not cond:
        failures.append(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def wait_http(url, what, proc, deadline_s=20):
    deadline = time.time() + deadline_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError("%s exited (%s)" % (what, proc.returncode))
        try:
            status, _ = http_get(url, timeout=1)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("%s not ready at %s" % (what, url))


def attr(k, v):
    return {"key": k, "value": {"stringValue": v}}


REQUEST = json.dumps({"resourceMetrics": [{
    "resource": {"attributes": [attr("service.name", "checkout"), attr("service.namespace", "shop"),
                                attr("service.instance.id", "i-1"), attr("host.name", "box")]},
    "scopeMetrics": [{"scope": {"name": "it"}, "metrics": [
        {"name": "orders", "sum": {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": [
            {"asInt": "42", "startTimeUnixNano": START_NS, "timeUnixNano": T_NS,
             "attributes": [attr("method", "GET")]}]}},
        {"name": "queue.depth", "gauge": {"dataPoints": [
            {"asDouble": 7.5, "timeUnixNano": T_NS, "attributes": [attr("queue", "q1")]}]}},
        {"name": "rpc.latency", "unit": "s", "histogram": {"aggregationTemporality": 2, "dataPoints": [
            {"count": "4", "sum": 2.75, "explicitBounds": [0.1, 1], "bucketCounts": ["1", "2", "1"],
             "startTimeUnixNano": START_NS, "timeUnixNano": T_NS,
             "attributes": [attr("op", "get")]}]}},
        {"name": "rpc.summary", "summary": {"dataPoints": [
            {"count": "10", "sum": 5.5, "startTimeUnixNano": START_NS, "timeUnixNano": T_NS,
             "quantileValues": [{"quantile": 0.5, "value": 0.4}, {"quantile": 0.99, "value": 1.25}]}]}},
        {"name": "refused.delta", "sum": {"aggregationTemporality": 1, "isMonotonic": True, "dataPoints": [
            {"asInt": "5", "startTimeUnixNano": START_NS, "timeUnixNano": T_NS}]}},
    ]}]}]})

RES = {"job": "shop/checkout", "instance": "i-1", "source": "strobe"}


def series(name, value, **labels):
    ls = dict(RES)
    ls.update(labels)
    ls["__name__"] = name
    return (tuple(sorted(ls.items())), float(value))


# Every series the exporter must write, with its value (14 samples).
WANT = dict([
    series("orders_total", 42, method="GET"),
    series("queue_depth", 7.5, queue="q1"),
    series("rpc_latency_seconds_bucket", 1, op="get", le="0.1"),
    series("rpc_latency_seconds_bucket", 3, op="get", le="1"),
    series("rpc_latency_seconds_bucket", 4, op="get", le="+Inf"),
    series("rpc_latency_seconds_sum", 2.75, op="get"),
    series("rpc_latency_seconds_count", 4, op="get"),
    series("rpc_summary", 0.4, quantile="0.5"),
    series("rpc_summary", 1.25, quantile="0.99"),
    series("rpc_summary_sum", 5.5),
    series("rpc_summary_count", 10),
    series("target_info", 1, host_name="box"),
])
# 12 series, one sample each.
WANT_SAMPLES = len(WANT)


def vm_series(port):
    q = urllib.parse.urlencode({"match[]": '{__name__=~".+"}'})
    _, body = http_get("http://127.0.0.1:%d/api/v1/export?%s" % (port, q))
    out = {}
    for line in body.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        key = tuple(sorted(row["metric"].items()))
        out[key] = list(zip(row["timestamps"], row["values"]))
    return out


def prom_series(port):
    q = urllib.parse.urlencode({"query": '{source="strobe"}'})
    _, body = http_get("http://127.0.0.1:%d/api/v1/query?%s" % (port, q))
    data = json.loads(body)
    out = {}
    for r in data["data"]["result"]:
        out[tuple(sorted(r["metric"].items()))] = (r["value"][0], float(r["value"][1]))
    return out


def post(port, body):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    try:
        conn.request("POST", "/v1/metrics", body=body, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def main():
    vm_bin, prom_bin = shutil.which("victoria-metrics"), shutil.which("prometheus")
    if vm_bin is None or prom_bin is None:
        print("FAIL: victoria-metrics and prometheus must be installed (scripts/packages.txt)")
        sys.exit(1)
    tmp = tempfile.mkdtemp(prefix="strobe-rw-")
    vm = prom = d = None
    try:
        vm_port, prom_port = free_port(), free_port()
        vm_log = open(os.path.join(tmp, "vm.log"), "w")
        vm = subprocess.Popen([vm_bin, "-httpListenAddr=127.0.0.1:%d" % vm_port,
                               "-storageDataPath=" + os.path.join(tmp, "vm"), "-retentionPeriod=1d",
                               "-search.latencyOffset=0s"], stdout=vm_log, stderr=subprocess.STDOUT)
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1m\n")
        prom_log = open(os.path.join(tmp, "prometheus.log"), "w")
        prom = subprocess.Popen([prom_bin, "--config.file=" + cfg,
                                 "--storage.tsdb.path=" + os.path.join(tmp, "prom"),
                                 "--web.listen-address=127.0.0.1:%d" % prom_port,
                                 "--web.enable-remote-write-receiver"],
                                stdout=prom_log, stderr=subprocess.STDOUT)
        wait_http("http://127.0.0.1:%d/health" % vm_port, "victoria-metrics", vm)
        wait_http("http://127.0.0.1:%d/-/ready" % prom_port, "prometheus", prom)

        config = """
receivers:
  otlp_http: {endpoint: "127.0.0.1:0"}
exporters:
  prometheus_remote_write/vm:
    endpoint: "http://127.0.0.1:%d/api/v1/write"
    external_labels: {source: strobe}
  prometheus_remote_write/prom:
    endpoint: "http://127.0.0.1:%d/api/v1/write"
    external_labels: {source: strobe}
service:
  pipelines:
    metrics:
      receivers: [otlp_http]
      exporters: [prometheus_remote_write/vm, prometheus_remote_write/prom]
""" % (vm_port, prom_port)
        d = Daemon(STROBE, config_text=config, args=["--set", "host.enabled=false"])
        d.wait_port()
        otlp = d.wait_otlp().split(":")[1]
        status, body = post(otlp, REQUEST)
        check(status == 200, "OTLP/JSON request accepted", body)

        deadline = time.time() + DEADLINE_S
        got_vm, got_prom = {}, {}
        while time.time() < deadline:
            try:
                got_vm = vm_series(vm_port)
                got_prom = prom_series(prom_port)
            except OSError:
                pass
            if len(got_vm) >= len(WANT) and len(got_prom) >= len(WANT):
                break
            time.sleep(0.5)

        check(set(got_vm) == set(WANT), "VictoriaMetrics holds exactly the expected label sets",
              "missing %s\nextra %s" % (set(WANT) - set(got_vm), set(got_vm) - set(WANT)))
        for key, value in WANT.items():
            check(got_vm.get(key) == [(NOW_MS, value)], "VM %s = %s at %d" % (dict(key), value, NOW_MS),
                  got_vm.get(key))
        check(set(got_prom) == set(WANT), "Prometheus holds exactly the expected label sets",
              "missing %s\nextra %s" % (set(WANT) - set(got_prom), set(got_prom) - set(WANT)))
        for key, value in WANT.items():
            check(key in got_prom and got_prom[key][1] == value,
                  "Prometheus %s = %s" % (dict(key), value), got_prom.get(key))

        def metric(text, name, labels):
            for line in text.splitlines():
                if line.startswith(name + "{") and all('%s="%s"' % kv in line for kv in labels.items()):
                    return float(line.rsplit(" ", 1)[1])
            return None

        _, _, text = d.request("GET", "/metrics")
        for exp in ("prometheus_remote_write/vm", "prometheus_remote_write/prom"):
            e = {"exporter": exp}
            check(metric(text, "strobe_exporter_remote_write_samples_total", e) == WANT_SAMPLES,
                  "%s: %d samples delivered" % (exp, WANT_SAMPLES))
            check(metric(text, "strobe_exporter_sent_metric_points_total", e) == 4,
                  "%s: 4 points delivered" % exp)
            check(metric(text, "strobe_exporter_send_failed_metric_points_total",
                         dict(e, reason="delta_temporality")) == 1,
                  "%s: the delta point refused and counted" % exp)
            check(metric(text, "strobe_exporter_remote_write_requests_total", dict(e, code="2xx")) == 1,
                  "%s: one 2xx request" % exp)
            for code in ("4xx", "429", "5xx", "error"):
                check(metric(text, "strobe_exporter_remote_write_requests_total", dict(e, code=code)) == 0,
                      "%s: no %s request" % (exp, code))
    finally:
        if d is not None:
            d.stop()
        stop_process(prom)
        stop_process(vm)
        if failures:
            print("logs in", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("\n".join("FAIL: " + f for f in failures))
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
