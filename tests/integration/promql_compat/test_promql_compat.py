"""strobe's PromQL against the real Prometheus, on the same data.

A `strobe serve` (free ports, private temp and shm dirs, a bearer token) receives a fixed
synthetic workload — counters, gauges and histograms from the Python package through shm, and
a counter, a gauge and a histogram through OTLP/HTTP (JSON) — while Debian's Prometheus scrapes
its /metrics every 100 ms and strobe samples the same series into its rule history every
100 ms (alerts.evaluation_interval). Then each expression of EXPRESSIONS is evaluated at one
time T by Prometheus' /api/v1/query and by strobe's /api/v1/query; the label sets must be
identical and every value within 1 % (histogram_quantile too: both interpolate the same
buckets).

Why both see the same data although they sample at different moments:
  - every series is created at t0, after both sides are sampling, and the whole life of every
    series lies inside the 1 m windows evaluated at T, so windows hold the same history;
  - counters and histograms only change during a 5 s ramp (fixed increments, exact totals);
    gauges change once (temperature 10 → 20, mid-ramp) and are constant otherwise;
  - a 15 s quiet period follows, so instant values, irate/idelta (0) and every window's last
    sample are identical on both sides; T lies in the quiet period;
  - rate/increase/delta extrapolate to the window edges from the first and last samples; the
    sampling phase changes that extrapolation by at most (half an interval at the start + one
    interval at the end) / (sampled duration) = 0.15 s / ~22 s < 0.7 %, within the 1 %;
  - count/sum/avg_over_time count samples: both sample every 100 ms (strobe on a fixed
    cadence), so the counts differ by at most a sample or two of ~220.
Prometheus' target labels (job, instance) are dropped by metric relabelling, so label sets are
comparable; strobe adds none to these series.

The expressions, written as a rule file (recording rules, plus one alert rule), pass
`promtool check rules`, load in strobe through alerts.rule_files, evaluate without error, and
the alert rule fires (asserted through /api/v1/alerts). A SIGHUP with a broken rule file keeps
the running rules (counted as a failed reload); a good file replaces them.

The rest of the HTTP API Grafana uses is compared too: /api/v1/query_range for RANGE_EXPRESSIONS
over [T - 5 s, T] at a 1 s step (GET and form POST; the same series, timestamps and values
within 1 %), /api/v1/series, /api/v1/labels and /api/v1/label/<name>/values for the workload's
series (identical, except that strobe also holds the shm histogram as a native histogram
series, `cmp_shm_latency_seconds`, which this Prometheus, without native histograms, does not).
The native histogram's quantiles are checked against values derived by hand from its scale-6
buckets the way Prometheus 2.42 interpolates (which a real Prometheus with native histograms
enabled returned for the same buckets).
Needs the `prometheus` package (prometheus, promtool)."""

import http.client
import json
import math
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "daemon"))
sys.path.append(os.path.join(os.environ.get("STROBE_BUILD_DIR", str(ROOT / "build" / "release")),
                             "python"))
from strobe_proc import Daemon, stop_process  # noqa: E402

import strobe  # noqa: E402

TOKEN = "compat-token"
RAMP_STEPS = 250          # shm steps, 20 ms apart
OTLP_POSTS = 50           # OTLP posts, 100 ms apart
QUIET_S = 15.0
REL_TOL = 0.01

# (expression, what it covers). Every one is evaluated at the same T in both.
EXPRESSIONS = [
    ('cmp_shm_requests_total', "instant selector"),
    ('cmp_shm_requests_total{path="/a"}', "matcher ="),
    ('cmp_shm_requests_total{path!="/a"}', "matcher !="),
    ('cmp_shm_requests_total{path=~"/(a|b)",method=~"G.*"}', "matcher =~"),
    ('cmp_shm_requests_total{method!~"P.*"}', "matcher !~"),
    ('{__name__=~"cmp_otlp_.*_total"}', "name matcher"),
    ('rate(cmp_shm_requests_total[1m])', "rate"),
    ('irate(cmp_shm_requests_total[1m])', "irate (quiet: 0)"),
    ('increase(cmp_otlp_bytes_total[1m])', "increase (OTLP counter)"),
    ('delta(cmp_shm_temperature[1m])', "delta (gauge step)"),
    ('idelta(cmp_shm_temperature[1m])', "idelta (quiet: 0)"),
    ('avg_over_time(cmp_shm_temperature[1m])', "avg_over_time"),
    ('min_over_time(cmp_shm_temperature[1m])', "min_over_time"),
    ('max_over_time(cmp_shm_temperature[1m])', "max_over_time"),
    ('sum_over_time(cmp_otlp_queue[1m])', "sum_over_time"),
    ('count_over_time(cmp_otlp_queue[1m])', "count_over_time"),
    ('histogram_quantile(0.9, rate(cmp_otlp_duration_seconds_bucket[1m]))',
     "histogram_quantile, OTLP explicit buckets"),
    ('histogram_quantile(0.5, sum by (le) (rate(cmp_shm_latency_seconds_bucket[1m])))',
     "histogram_quantile, shm exponential histogram"),
    ('sum by (path) (rate(cmp_shm_requests_total[1m]))', "sum by"),
    ('sum without (method) (cmp_shm_requests_total)', "sum without"),
    ('avg(cmp_shm_temperature)', "avg"),
    ('min by (room) (cmp_shm_temperature)', "min by"),
    ('max without (room) (cmp_shm_temperature)', "max without"),
    ('count by (path) (cmp_shm_requests_total)', "count by"),
    ('cmp_shm_requests_total / on(path) group_left cmp_shm_path_limit',
     "arithmetic, on, group_left"),
    ('cmp_shm_requests_total - ignoring(method) group_left cmp_shm_path_limit',
     "arithmetic, ignoring, group_left"),
    ('sum by (path) (cmp_shm_requests_total) > on(path) cmp_shm_path_limit', "comparison filter"),
    ('cmp_shm_requests_total > bool 700', "comparison bool"),
    ('cmp_shm_requests_total{method="GET"} and on(path) cmp_shm_path_limit > 60', "and"),
    ('cmp_shm_requests_total{path="/a"} or cmp_otlp_bytes_total', "or"),
    ('cmp_shm_requests_total unless on(path) cmp_shm_path_limit < 60', "unless"),
    ('absent(cmp_shm_nonexistent{path="/x"})', "absent, empty input"),
    ('absent(cmp_shm_requests_total)', "absent, present input"),
    ('2 * 3 + 1', "scalar arithmetic"),
    ('cmp_otlp_queue * 2 - 1', "vector-scalar arithmetic"),
    ('scalar(sum(cmp_shm_path_limit)) / 3', "scalar()"),
    ('rate(cmp_otlp_duration_seconds_sum[1m]) / rate(cmp_otlp_duration_seconds_count[1m])',
     "ratio of rates"),
]

# Hand-derived results of instant expressions (after the ramp): exact on both sides.
# /a GET: 1 + 250*2 = 501; /a POST: 1 + 250*1 = 251; /b GET: 1 + 250*5 = 1251;
# OTLP bytes: in 100 + 50*100 = 5100, out 50 + 50*20 = 1050; limits /a 100, /b 50.
EXACT = {
    'cmp_shm_requests_total': {
        (("__name__", "cmp_shm_requests_total"), ("method", "GET"), ("path", "/a")): 501,
        (("__name__", "cmp_shm_requests_total"), ("method", "POST"), ("path", "/a")): 251,
        (("__name__", "cmp_shm_requests_total"), ("method", "GET"), ("path", "/b")): 1251},
    'sum without (method) (cmp_shm_requests_total)': {
        (("path", "/a"),): 752, (("path", "/b"),): 1251},
    'cmp_shm_requests_total / on(path) group_left cmp_shm_path_limit': {
        (("method", "GET"), ("path", "/a")): 5.01, (("method", "POST"), ("path", "/a")): 2.51,
        (("method", "GET"), ("path", "/b")): 25.02},
    'sum by (path) (cmp_shm_requests_total) > on(path) cmp_shm_path_limit': {
        (("path", "/a"),): 752, (("path", "/b"),): 1251},
    'absent(cmp_shm_nonexistent{path="/x"})': {(("path", "/x"),): 1},
    'absent(cmp_shm_requests_total)': {},
    '{__name__=~"cmp_otlp_.*_total"}': {
        (("__name__", "cmp_otlp_bytes_total"), ("dir", "in")): 5100,
        (("__name__", "cmp_otlp_bytes_total"), ("dir", "out")): 1050},
    'min_over_time(cmp_shm_temperature[1m])': {(("room", "k"),): 10, (("room", "l"),): 30},
    'max_over_time(cmp_shm_temperature[1m])': {(("room", "k"),): 20, (("room", "l"),): 30},
    'irate(cmp_shm_requests_total[1m])': {
        (("method", "GET"), ("path", "/a")): 0, (("method", "POST"), ("path", "/a")): 0,
        (("method", "GET"), ("path", "/b")): 0},
}

# Compared as query_range over [T - 5 s, T], step 1 s: 6 points per series.
RANGE_EXPRESSIONS = [
    'cmp_shm_requests_total',
    'sum by (path) (rate(cmp_shm_requests_total[1m]))',
    'histogram_quantile(0.9, rate(cmp_otlp_duration_seconds_bucket[1m]))',
    'cmp_otlp_queue * 2 - 1',
    '2 * 3 + 1',
]

ALERT_RULE = """  - name: compat_alerts
    interval: 200ms
    rules:
      - alert: CmpRequestsHigh
        expr: sum by (path) (cmp_shm_requests_total) > 100
        for: 500ms
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.path }} has {{ $value }} requests ({{ humanize $value }})"
"""


def rule_file_text():
    lines = ["groups:", "  - name: compat_recording", "    rules:"]
    for i, (expr, _) in enumerate(EXPRESSIONS):
        lines.append("      - record: cmp:expr_%02d" % i)
        lines.append("        expr: %s" % json.dumps(expr))
    return "\n".join(lines) + "\n" + ALERT_RULE


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def poll(fn, what, timeout=30.0, interval=0.1):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def prom_query(port, expr, t=None):
    params = {"query": expr}
    if t is not None:
        params["time"] = "%.3f" % t
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode(params))
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read().decode())


def strobe_query(d, expr, t=None, token=TOKEN):
    params = {"query": expr}
    if t is not None:
        params["time"] = t if isinstance(t, str) else "%.3f" % t
    headers = {"Authorization": "Bearer " + token} if token else {}
    status, _, body = d.request("GET", "/api/v1/query?" + urllib.parse.urlencode(params),
                                headers=headers)
    return status, json.loads(body) if body.startswith("{") else body


def prom_get(port, path, params):
    url = "http://127.0.0.1:%d%s?%s" % (port, path, urllib.parse.urlencode(params, doseq=True))
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read().decode())


def strobe_get(d, path, params, post=False):
    body = urllib.parse.urlencode(params, doseq=True)
    if post:
        headers = dict(d.headers)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, _, text = d.request("POST", path, body=body, headers=headers)
    else:
        status, _, text = d.request("GET", path + "?" + body, headers=d.headers)
    assert status == 200, (path, params, status, text)
    return json.loads(text)


def as_matrix(reply):
    """{sorted label tuple: [(t, float value), ...]} of a matrix."""
    assert reply["status"] == "success", reply
    assert reply["data"]["resultType"] == "matrix", reply
    out = {}
    for s in reply["data"]["result"]:
        key = tuple(sorted(s["metric"].items()))
        assert key not in out, "duplicate series %r" % (key,)
        out[key] = [(round(t, 3), float(v)) for t, v in s["values"]]
    return out


def as_map(reply):
    """{sorted label tuple: float value} of a vector, or {(): value} of a scalar."""
    assert reply["status"] == "success", reply
    data = reply["data"]
    if data["resultType"] == "scalar":
        return {(): float(data["result"][1])}
    assert data["resultType"] == "vector", data
    out = {}
    for s in data["result"]:
        key = tuple(sorted(s["metric"].items()))
        assert key not in out, "duplicate series %r" % (key,)
        out[key] = float(s["value"][1])
    return out


def close(a, b, rel=REL_TOL):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    return abs(a - b) <= rel * max(abs(a), abs(b))


def otlp_post(addr, body):
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("POST", "/v1/metrics", body=json.dumps(body),
                     headers={"Content-Type": "application/json",
                              "Authorization": "Bearer " + TOKEN})
        r = conn.getresponse()
        r.read()
        assert r.status == 200, r.status
    finally:
        conn.close()


def otlp_body(step, start_ns):
    """Cumulative OTLP points after `step` posts: bytes in 100 + 100*step, out 50 + 20*step;
    queue 7; duration histogram with bounds 0.1 0.5 1 and counts growing by (1,2,1,0) per
    post from (1,1,1,1)."""
    now = time.time_ns()

    def attrs(**kv):
        return [{"key": k, "value": {"stringValue": v}} for k, v in kv.items()]

    counts = [1 + step, 1 + 2 * step, 1 + step, 1]
    return {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "cmp_otlp_bytes", "sum": {"aggregationTemporality": 2, "isMonotonic": True,
                                           "dataPoints": [
            {"asDouble": 100.0 + 100 * step, "startTimeUnixNano": str(start_ns),
             "timeUnixNano": str(now), "attributes": attrs(dir="in")},
            {"asDouble": 50.0 + 20 * step, "startTimeUnixNano": str(start_ns),
             "timeUnixNano": str(now), "attributes": attrs(dir="out")}]}},
        {"name": "cmp_otlp_queue", "gauge": {"dataPoints": [
            {"asDouble": 7.0, "timeUnixNano": str(now), "attributes": attrs(q="x")}]}},
        {"name": "cmp_otlp_duration_seconds", "histogram": {"aggregationTemporality": 2,
                                                            "dataPoints": [
            {"startTimeUnixNano": str(start_ns), "timeUnixNano": str(now),
             "count": str(sum(counts)), "sum": 0.05 * counts[0] + 0.3 * counts[1] +
             0.7 * counts[2] + 2.0 * counts[3],
             "explicitBounds": [0.1, 0.5, 1.0], "bucketCounts": [str(c) for c in counts]}]}},
    ]}]}]}


@pytest.fixture
def setup():
    strobe_binary = os.environ.get("STROBE_BINARY") or str(ROOT / "build" / "release" / "bin" /
                                                           "strobe")
    prometheus = shutil.which("prometheus")
    promtool = shutil.which("promtool")
    if prometheus is None or promtool is None:
        pytest.fail("the prometheus package (prometheus, promtool) is not installed")
    tmp = tempfile.mkdtemp(prefix="strobe-promql-")
    rules = os.path.join(tmp, "rules.yml")
    with open(rules, "w") as f:
        f.write(rule_file_text())
    ring = "cmp" + uuid.uuid4().hex[:8]
    d = Daemon(strobe_binary, args=["--shm", ring], env={"STROBE_TOKEN": TOKEN},
               otlp_http="127.0.0.1:0",
               config_text="alerts:\n  evaluation_interval: 100ms\n  rule_files: [%s]\n" % rules)
    d.headers = {"Authorization": "Bearer " + TOKEN}
    d.ring = ring
    prom = None
    try:
        d.wait_port()
        d.otlp = d.wait_otlp()
        d.wait_ready()
        token_file = os.path.join(tmp, "token")
        with open(token_file, "w") as f:
            f.write(TOKEN)
        prom_port = free_port()
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("""global:
  scrape_interval: 100ms
  scrape_timeout: 100ms
scrape_configs:
  - job_name: strobe
    honor_labels: true
    authorization:
      credentials_file: %s
    static_configs:
      - targets: ['127.0.0.1:%d']
    metric_relabel_configs:
      - action: labeldrop
        regex: instance|job
""" % (token_file, d.port))
        prom_log = open(os.path.join(tmp, "prometheus.log"), "w")
        prom = subprocess.Popen(
            [prometheus, "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(tmp, "data"),
             "--web.listen-address=127.0.0.1:%d" % prom_port],
            stdout=prom_log, stderr=subprocess.STDOUT)
        yield {"daemon": d, "prom_port": prom_port, "prom": prom, "rules": rules, "tmp": tmp,
               "promtool": promtool}
    finally:
        stop_process(prom)
        d.stop()
        if os.environ.get("STROBE_KEEP_TMP") is None:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(d.tmp, ignore_errors=True)


def run_workload(d):
    """Creates every series at t0, ramps, and returns when /metrics shows the final values."""
    start_ns = time.time_ns()
    with strobe.connect(d.ring, d.shm_dir) as conn:
        req = conn.counter("cmp_shm_requests_total", "requests", labelnames=["path", "method"])
        temp = conn.gauge("cmp_shm_temperature", "temperature", labelnames=["room"])
        limit = conn.gauge("cmp_shm_path_limit", "limit", labelnames=["path"])
        lat = conn.histogram("cmp_shm_latency_seconds", "latency")
        a_get, a_post, b_get = req.labels("/a", "GET"), req.labels("/a", "POST"), req.labels("/b", "GET")
        for c in (a_get, a_post, b_get):
            c.inc(1)
        temp.labels("k").set(10)
        temp.labels("l").set(30)
        limit.labels("/a").set(100)
        limit.labels("/b").set(50)
        lat.record(0.001)
        conn.flush(timeout=5)
        otlp_post(d.otlp, otlp_body(0, start_ns))
        time.sleep(2.0)  # the workload's quiet start: both sides sample the initial values
        for step in range(1, RAMP_STEPS + 1):
            a_get.inc(2)
            a_post.inc(1)
            b_get.inc(5)
            lat.record(0.002 + 0.0001 * (step % 50))
            if step == RAMP_STEPS // 2:
                temp.labels("k").set(20)
            if step % 5 == 0:
                otlp_post(d.otlp, otlp_body(step // 5, start_ns))
            time.sleep(0.02)
        conn.flush(timeout=5)
    want = ['cmp_shm_requests_total{method="GET",path="/b"} 1251',
            'cmp_otlp_bytes_total{dir="in"} 5100']

    def final():
        _, _, text = d.request("GET", "/metrics", headers=d.headers)
        return all(w in text for w in want)
    poll(final, "final values on /metrics", timeout=15)
    return start_ns


def test_promql_agrees_with_prometheus(setup):
    d, prom_port = setup["daemon"], setup["prom_port"]

    # The rule file is valid Prometheus.
    check = subprocess.run([setup["promtool"], "check", "rules", setup["rules"]],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: %d rules found" % (len(EXPRESSIONS) + 1) in check.stdout, check.stdout

    # The query endpoint is behind the API's bearer token, and checks its input.
    status, _ = strobe_query(d, "1", token=None)
    assert status == 401
    status, body = strobe_query(d, "sum(")
    assert status == 400 and body["errorType"] == "bad_data", body
    status, body = strobe_query(d, "x" * 9000)
    assert status == 400 and body["errorType"] == "bad_data", body
    status, body = strobe_query(d, "1", t="not-a-time")
    assert status == 400 and body["errorType"] == "bad_data", body

    # Both sides sample strobe before any workload series exists.
    def prom_scraping():
        try:
            return prom_query(prom_port, "strobe_uptime_seconds")["data"]["result"]
        except OSError:  # not listening yet
            return None
    poll(prom_scraping, "Prometheus scraping strobe", timeout=40)
    poll(lambda: strobe_query(d, "strobe_uptime_seconds")[1]["data"]["result"],
         "strobe's history sampling", timeout=10)

    run_workload(d)
    time.sleep(QUIET_S)  # the workload's quiet period (see the docstring), not a synchronisation
    t = time.time() - 1.0

    failures = []
    worst = (0.0, None)
    for expr, what in EXPRESSIONS:
        p = as_map(prom_query(prom_port, expr, t))
        status, body = strobe_query(d, expr, t)
        if status != 200:
            failures.append("%s (%s): strobe %s %s" % (expr, what, status, body))
            continue
        s = as_map(body)
        if set(p) != set(s):
            failures.append("%s (%s): series differ\n  prometheus %s\n  strobe     %s" %
                            (expr, what, sorted(p), sorted(s)))
            continue
        for k in p:
            if p[k] != s[k] and not math.isnan(p[k]):
                worst = max(worst, (abs(p[k] - s[k]) / max(abs(p[k]), abs(s[k])), expr))
            if not close(p[k], s[k]):
                failures.append("%s (%s): %s: prometheus %r, strobe %r" % (expr, what, k, p[k], s[k]))
        if expr in EXACT:
            for k, v in EXACT[expr].items():
                if k not in s or not close(s[k], v, 1e-9):
                    failures.append("%s: %s: want %r, strobe %r" % (expr, k, v, s.get(k)))
            if set(EXACT[expr]) != set(s):
                failures.append("%s: want series %s, strobe %s" % (expr, sorted(EXACT[expr]), sorted(s)))
        print("ok" if not failures or not failures[-1].startswith(expr) else "FAIL", expr, s)
    print("%d expressions; largest relative difference %.5f (%s)" % (len(EXPRESSIONS), *worst))
    assert not failures, "\n".join(failures)

    # query_range: the same series, the same 6 timestamps, values within 1 %.
    start, end = "%.3f" % (t - 5), "%.3f" % t
    for i, expr in enumerate(RANGE_EXPRESSIONS):
        params = {"query": expr, "start": start, "end": end, "step": "1s" if i % 2 else "1"}
        p = as_matrix(prom_get(prom_port, "/api/v1/query_range", params))
        s = as_matrix(strobe_get(d, "/api/v1/query_range", params, post=i % 2 == 1))
        assert set(p) == set(s) and p, "%s: series differ\n  prometheus %s\n  strobe     %s" % (
            expr, sorted(p), sorted(s))
        for k in p:
            assert [pt for pt, _ in p[k]] == [st for st, _ in s[k]], (expr, k, p[k], s[k])
            assert len(p[k]) == 6, (expr, k, p[k])
            for (_, pv), (_, sv) in zip(p[k], s[k]):
                assert close(pv, sv), "%s: %s: prometheus %r, strobe %r" % (expr, k, p[k], s[k])
        print("ok range", expr, len(s), "series")

    # series, labels, label values of the workload's series.
    # (Prometheus may also hold `_created` series from the OpenMetrics scrape; strobe's
    # history holds what the text format exposes, so those are left out on both sides.)
    sel = {"match[]": ['cmp_shm_requests_total',
                       '{__name__=~"cmp_otlp_.*", __name__!~".*_created"}'],
           "start": start, "end": end}
    p = prom_get(prom_port, "/api/v1/series", sel)["data"]
    s = strobe_get(d, "/api/v1/series", sel)["data"]
    assert p == s and len(s) == 3 + 2 + 1 + 4 + 2, (p, s)  # requests, bytes, queue, buckets, sum/count
    every = {"match[]": ['{__name__=~"cmp_.*", __name__!~".*_created"}'], "start": start,
             "end": end}
    p = prom_get(prom_port, "/api/v1/labels", every)["data"]
    s = strobe_get(d, "/api/v1/labels", every, post=True)["data"]
    assert p == s and p == sorted(p) and "le" in s and "path" in s, (p, s)
    for name in ("path", "le", "room"):
        p = prom_get(prom_port, "/api/v1/label/%s/values" % name, every)["data"]
        s = strobe_get(d, "/api/v1/label/%s/values" % name, every)["data"]
        assert p == s and s, (name, p, s)
    p = prom_get(prom_port, "/api/v1/label/__name__/values", every)["data"]
    s = strobe_get(d, "/api/v1/label/__name__/values", every)["data"]
    assert sorted(set(s) - set(p)) == ["cmp_shm_latency_seconds"] and set(p) <= set(s), (p, s)

    # The native histogram (scale 6, values in seconds: bucket i holds (2^(i/64), 2^((i+1)/64)]).
    # The shm histogram holds 0.001 (recorded at t0) and the ramp's 2.0 .. 6.9 ms, five of each
    # 0.1 ms step: 4.4 ms is in bucket -502 = (4.353073, 4.400475] ms alone, 4.5 ms in bucket
    # -499 = (4.496833, 4.545800] ms; 4.3 ms and every smaller value lie below bucket -502.
    # Prometheus' histogram_quantile over a native histogram (2.42, as strobe) takes rank =
    # q x count and interpolates linearly inside the bucket holding it.
    lo, up = 2 ** (-502 / 64), 2 ** (-501 / 64)
    # Instant: 251 observations, rank 0.5 x 251 = 125.5; 1 + 24 x 5 = 121 lie below bucket
    # -502, which holds ranks 122-126: lo + (up - lo) x (125.5 - 121) / 5. No extrapolation, so
    # exact (the real Prometheus 2.42 returned 0.004395734886746121 for these buckets).
    status, body = strobe_query(d, "histogram_quantile(0.5, cmp_shm_latency_seconds)", t)
    assert status == 200, body
    [q] = body["data"]["result"]
    assert q["metric"] == {}, q
    assert close(float(q["value"][1]), lo + (up - lo) * 0.9, 1e-9), (q, lo + (up - lo) * 0.9)
    # Over rate(): the ramp's 250 observations (the window's first sample already holds the
    # 1 ms one), every bucket scaled by the same extrapolation factor. q = 0.5 would be rank 125,
    # exactly the last 4.4 ms observation: the rounding of the scaled counts then decides
    # between up (4.400475 ms) and the lower bound of the next non-empty bucket (4.496833 ms),
    # and the real Prometheus returns either, depending on the evaluation time (its answer over
    # these buckets was 4.4968 ms at 15 of 40 times). This test once asserted 4.4 ms +- 1.09 %
    # there and failed on strobe's 4.4968 ms, which is what Prometheus gives too. q = 0.49 is
    # rank 122.5, inside bucket -502 (ranks 121-125) with 2.5 counts of margin on each side:
    # lo + (up - lo) x 2.5 / 5 (Prometheus: 0.004376774142976825). Had the window's first
    # sample preceded the 1 ms observation (251 observations, rank 122.99 of 122-126) the
    # answer would still lie strictly inside bucket -502, so that is asserted, with the exact
    # value for 250.
    status, body = strobe_query(
        d, "histogram_quantile(0.49, rate(cmp_shm_latency_seconds[1m]))", t)
    assert status == 200, body
    [q] = body["data"]["result"]
    assert q["metric"] == {}, q
    v = float(q["value"][1])
    assert lo < v < up, (q, lo, up)
    assert close(v, lo + (up - lo) * 0.5, 1e-9) or close(v, lo + (up - lo) * 1.99 / 5, 1e-9), q
    status, body = strobe_query(d, "histogram_count(increase(cmp_shm_latency_seconds[1m]))", t)
    assert status == 200, body
    # 250 ramp observations, extrapolated as Prometheus does (within the 1 % bound above).
    assert close(float(body["data"]["result"][0]["value"][1]), 250), body

    # The rule file runs in strobe: every rule healthy, recording rules on /metrics, the alert
    # rule firing for both paths with its labels and expanded annotations.
    def firing():
        alerts = d.get_json("/api/v1/alerts")
        return [a for a in alerts["alerts"] if a["name"] == "CmpRequestsHigh" and
                a["state"] == "firing"]
    fired = poll(firing, "CmpRequestsHigh firing", timeout=10)
    got = sorted((a["labels"]["path"], a["labels"], a["annotations"]["summary"]) for a in fired)
    assert got == [
        ("/a", {"alertname": "CmpRequestsHigh", "path": "/a", "severity": "page"},
         "/a has 752 requests (752)"),
        ("/b", {"alertname": "CmpRequestsHigh", "path": "/b", "severity": "page"},
         "/b has 1251 requests (1.251k)"),
    ], got
    rules = d.get_json("/api/v1/alerts")["rules"]
    unhealthy = [r for r in rules if r.get("health") != "ok"]
    assert not unhealthy, unhealthy
    assert len([r for r in rules if r.get("type") == "recording"]) == len(EXPRESSIONS)
    _, _, text = d.request("GET", "/metrics", headers=d.headers)
    record = "cmp:expr_%02d" % [e for e, _ in EXPRESSIONS].index(
        "sum without (method) (cmp_shm_requests_total)")
    assert record + '{path="/a"} 752' in text and record + '{path="/b"} 1251' in text, \
        [line for line in text.splitlines() if line.startswith(record)]

    # SIGHUP: a broken rule file keeps the running rules (a failed reload, counted) ...
    def reloads(result):
        _, _, body = d.request("GET", "/metrics", headers=d.headers)
        line = 'strobe_alert_rule_reloads_total{result="%s"} ' % result
        return [float(x[len(line):]) for x in body.splitlines() if x.startswith(line)]
    with open(setup["rules"], "w") as f:
        f.write("groups:\n  - name: broken\n    rules:\n      - alert: X\n        expr: sum(\n")
    d.signal(signal.SIGHUP)
    poll(lambda: reloads("failed") == [1.0], "a failed rule reload counted")
    assert firing(), "the running alert rule survives a failed reload"
    assert len(d.get_json("/api/v1/alerts")["rules"]) == len(EXPRESSIONS) + 1
    # ... and a good one replaces them.
    with open(setup["rules"], "w") as f:
        f.write("groups:\n" + ALERT_RULE)
    d.signal(signal.SIGHUP)
    poll(lambda: reloads("ok") == [1.0], "a successful rule reload counted")
    assert [r["alert"] for r in d.get_json("/api/v1/alerts")["rules"]] == ["CmpRequestsHigh"]
    assert firing(), "the alert keeps its state across the reload"
