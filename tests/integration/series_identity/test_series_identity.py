"""Every series on /metrics has exactly the labels of its own source (issue 15).

A real `strobe serve` (its built-in pipeline: otlp_http and shm → batch → prometheus) receives,
interleaved, OTLP/HTTP metric posts from three senders — service.name `frontend` (with an
instance id), `zzz` in namespace `shop`, and one without service.name — and the points of a
Python shm producer (no resource of its own). Some steps wait until the previous step is
visible (separate batches, the case that leaked: a shm counter took the `job` of the last OTLP
batch and split into `{job="frontend"} 1` and `{job="zzz"} 2`), the last one sends both at once
(one batch). The whole exposition of the test's families is parsed and compared with the
expected samples: full label sets, exact values, no series twice. Exponential histograms (the
Python histogram with two observations, an OTLP one in bytes) show the fixed default bounds of
their unit (at most 25 bucket lines), with hand-derived counts. /api/v1/metrics shows the same
label sets.

On c2a39b2 this fails on the histograms: t2_lat_seconds has 66 `le` lines, one per fine
exponential bucket between its two observations, instead of the 15 default bounds. Its label
sets pass there: since 84322e4 a shm point carries an owner resource (process.user.id), so the
leak needs a point without any resource, which no receiver of c2a39b2 produces; the unit test
PointWithoutResourceNeverTakesAnotherBatchsJob (prometheus_test.cc) shows it.
"""

import http.client
import json
import os
import pathlib
import re
import sys
import time
import uuid

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "daemon"))
sys.path.insert(0, str(ROOT / "tests" / "hostile"))
sys.path.append(os.path.join(os.environ.get("STROBE_BUILD_DIR", str(ROOT / "build" / "release")),
                             "python"))

import otlp_pb  # noqa: E402
import strobe  # noqa: E402
from strobe_proc import Daemon  # noqa: E402

# The test's metric families all start with this.
PREFIX = "t2_"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

SECONDS = ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
           "2.5", "5", "10", "30", "60"]
BYTES = [str(4 ** k) for k in range(2, 17)]  # 16 B .. 4 GiB


@pytest.fixture
def strobe_binary():
    path = os.environ.get("STROBE_BINARY") or str(ROOT / "build" / "release" / "bin" / "strobe")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built (set STROBE_BINARY)")
    return path


def samples(text):
    """{(name, frozenset of (label, value)): value} of the test's families, and the keys seen
    more than once (a duplicated series)."""
    out, dup = {}, []
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(PREFIX) and not \
                line.startswith("target_info"):
            continue
        m = SAMPLE.match(line)
        assert m, line
        key = (m.group(1), frozenset(LABEL.findall(m.group(2) or "")))
        if key in out:
            dup.append(line)
        out[key] = float(m.group(3))
    return out, dup


def key(name, **labels):
    return (name, frozenset(labels.items()))


def histogram(name, bounds, cumulative, total, total_sum, **labels):
    """The samples of a histogram series: one `le` per bound, +Inf, _sum, _count."""
    out = {}
    for b, c in zip(bounds, cumulative):
        out[key(name + "_bucket", le=b, **labels)] = c
    out[key(name + "_bucket", le="+Inf", **labels)] = total
    out[key(name + "_sum", **labels)] = total_sum
    out[key(name + "_count", **labels)] = total
    return out


def post(otlp, body, content_type="application/x-protobuf"):
    host, port = otlp.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("POST", "/v1/metrics", body=body, headers={"Content-Type": content_type})
        r = conn.getresponse()
        reply = r.read()
        assert r.status == 200, (r.status, reply[:300])
    finally:
        conn.close()


def requests_sum(value, now):
    return otlp_pb.sum_metric("t2_requests", [otlp_pb.number_point({"route": "/a"}, now, value,
                                                                   start_ns=1_700_000_000 * 10**9)])


def test_every_series_has_exactly_its_own_sources_labels(strobe_binary):
    ring = "s" + uuid.uuid4().hex[:10]
    d = Daemon(strobe_binary, args=["--shm", ring, "--set", "host.enabled=false"],
               otlp_http="127.0.0.1:0")
    conn = None
    try:
        d.wait_port()
        d.wait_ready()
        otlp = d.wait_otlp()

        def scrape():
            status, _, text = d.request("GET", "/metrics")
            assert status == 200, status
            return text

        def wait_for(name, value, **labels):
            d.poll(lambda: samples(scrape())[0].get(key(name, **labels)) == value,
                   "%s%s == %s" % (name, labels, value), timeout=15)

        frontend = {"service.name": "frontend", "service.instance.id": "fe-1", "host.name": "a"}
        zzz = {"service.name": "zzz", "service.namespace": "shop", "host.name": "b"}
        anonymous = {"host.name": "c"}

        # 1. OTLP from frontend.
        post(otlp, otlp_pb.metrics_request(frontend, [
            requests_sum(1, time.time_ns()),
            otlp_pb.gauge_metric("t2_temp", [otlp_pb.number_point({}, time.time_ns(), 20.5)])]))
        wait_for("t2_requests_total", 1, route="/a", job="frontend", instance="fe-1")

        # 2. The shm producer (no resource of its own: only its own labels).
        conn = strobe.connect(ring, d.shm_dir)
        after = conn.counter("t2_after1_total")
        jobs = conn.counter("t2_shm_jobs_total", labelnames=["job"]).labels("batch")
        level = conn.gauge("t2_level")
        latency = conn.histogram("t2_lat_seconds")
        after.inc(1)
        jobs.inc(5)
        level.set(1.5)
        latency.record(0.003)
        latency.record(0.2)
        conn.flush(timeout=10)
        wait_for("t2_after1_total", 1)

        # 3. OTLP from shop/zzz, with an exponential histogram in bytes (OTLP/JSON): scale 0,
        # zero bucket 1, (8,16] 1, (16,32] 2.
        post(otlp, otlp_pb.metrics_request(zzz, [requests_sum(7, time.time_ns())]))
        post(otlp, json.dumps({"resourceMetrics": [{
            "resource": {"attributes": [{"key": k, "value": {"stringValue": v}}
                                        for k, v in zzz.items()]},
            "scopeMetrics": [{"metrics": [{
                "name": "t2_payload", "unit": "By",
                "exponentialHistogram": {"aggregationTemporality": 2, "dataPoints": [{
                    "count": "4", "sum": 60, "scale": 0, "zeroCount": "1",
                    "positive": {"offset": 3, "bucketCounts": ["1", "2"]},
                    "startTimeUnixNano": "1700000000000000000",
                    "timeUnixNano": str(time.time_ns())}]}}]}]}]}), "application/json")
        wait_for("t2_requests_total", 7, route="/a", job="shop/zzz")

        # 4. shm again, after the zzz batch.
        after.inc(1)
        conn.flush(timeout=10)
        wait_for("t2_after1_total", 2)

        # 5. OTLP without service.name: no job, no instance.
        post(otlp, otlp_pb.metrics_request(anonymous, [
            otlp_pb.gauge_metric("t2_anon", [otlp_pb.number_point({}, time.time_ns(), 4)])]))
        wait_for("t2_anon", 4)

        # 6. Both at once (likely one batch): shm, then OTLP from frontend.
        level.set(2.5)
        conn.flush(timeout=10)
        post(otlp, otlp_pb.metrics_request(frontend, [requests_sum(3, time.time_ns())]))
        wait_for("t2_requests_total", 3, route="/a", job="frontend", instance="fe-1")
        wait_for("t2_level", 2.5)

        uid = str(os.getuid())
        expected = {
            key("t2_requests_total", route="/a", job="frontend", instance="fe-1"): 3,
            key("t2_requests_total", route="/a", job="shop/zzz"): 7,
            key("t2_temp", job="frontend", instance="fe-1"): 20.5,
            key("t2_anon"): 4,
            key("t2_after1_total"): 2,
            key("t2_shm_jobs_total", exported_job="batch"): 5,
            key("t2_level"): 2.5,
            key("target_info", job="frontend", instance="fe-1", host_name="a"): 1,
            key("target_info", job="shop/zzz", host_name="b"): 1,
            key("target_info", host_name="c"): 1,
            key("target_info", process_user_id=uid): 1,
        }
        # 0.003 lies in the scale-6 bucket (0.002980, 0.003012]: counted at le=0.005; 0.2 in
        # (0.19914, 0.20131]: at le=0.25.
        expected.update(histogram("t2_lat_seconds", SECONDS,
                                  [0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2], 2, 0.203))
        # Bytes bounds are powers of 4, edges of every scale >= -1 bucket: exact. Zero and
        # (8,16] at le=16, (16,32] at le=64.
        expected.update(histogram("t2_payload_bytes", BYTES, [2] + [4] * 14, 4, 60,
                                  job="shop/zzz"))

        text = scrape()
        got, dup = samples(text)
        assert dup == [], "series exposed twice: %s" % dup
        missing = {k: v for k, v in expected.items() if got.get(k) != v}
        extra = {k: v for k, v in got.items() if k not in expected}
        assert not missing and not extra, (
            "missing or wrong:\n%s\nunexpected:\n%s" % (
                "\n".join("%s %s (got %s)" % (k, v, got.get(k)) for k, v in sorted(
                    missing.items(), key=str)),
                "\n".join("%s %s" % (k, v) for k, v in sorted(extra.items(), key=str)[:40])))
        bucket_lines = [line for line in text.splitlines()
                        if line.startswith("t2_lat_seconds_bucket")]
        assert len(bucket_lines) <= 25, len(bucket_lines)

        # The same label sets in the JSON API.
        families = {f["name"]: f for f in d.get_json("/api/v1/metrics?name=t2_")["metrics"]}
        assert [s["labels"] for s in families["t2_after1"]["series"]] == [{}]
        assert sorted((s["labels"]["job"], s["value"])
                      for s in families["t2_requests"]["series"]) == [("frontend", 3),
                                                                      ("shop/zzz", 7)]
        assert [(s["labels"], s["count"]) for s in families["t2_lat_seconds"]["series"]] == \
            [({}, 2)]
    finally:
        if conn is not None:
            conn.close()
        d.stop()
