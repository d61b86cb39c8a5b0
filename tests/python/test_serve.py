"""The Python package against the real daemon: `strobe serve` with its built-in pipeline
(shm receiver → batch → prometheus exporter / trace analysis) on a private shm directory and
ring name, HTTP on a free port. Everything a program writes must show up in the daemon's
/metrics and trace API; producers killed with SIGKILL mid-write must not disturb the others.
"""

import asyncio
import os
import pathlib
import signal
import subprocess
import sys
import time
import uuid

import pytest

import strobe

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "daemon"))
from strobe_proc import Daemon  # noqa: E402

BUILD = pathlib.Path(os.environ.get("STROBE_BUILD_DIR", ROOT / "build" / "release"))


def _strobe_binary():
    path = os.environ.get("STROBE_BINARY") or str(BUILD / "bin" / "strobe")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not built (set STROBE_BINARY or build the strobe target)")
    return path


@pytest.fixture
def serve():
    ring = "py" + uuid.uuid4().hex[:10]
    d = Daemon(_strobe_binary(), args=["--shm", ring])
    d.ring = ring
    try:
        d.wait_port()
        d.wait_ready()
        yield d
    finally:
        d.stop()


_REFUSING_PIPELINE = """\
receivers:
  shm: {{name: {ring}, dir: {dir}}}
processors:
  memory_limiter: {{soft_limit: 1B, hard_limit: 1B, retry_after: 10ms}}
exporters:
  debug: {{verbosity: basic}}
service:
  pipelines:
    all:
      receivers: [shm]
      processors: [memory_limiter]
      exporters: [debug]
shutdown:
  grace_period: 1s
"""


def test_flush_is_not_acknowledged_while_the_daemons_pipeline_refuses(tmp_path):
    """A memory limiter whose hard limit no batch fits under refuses everything the shm
    receiver pushes. The daemon must not acknowledge a flush of data its pipeline did not
    take: flush() and aflush() time out with a TimeoutError that names back-pressure."""
    ring = "py" + uuid.uuid4().hex[:10]
    shm = tmp_path / "shm"
    shm.mkdir(mode=0o700)
    d = Daemon(_strobe_binary(), args=["--shm", "off"],
               config_text=_REFUSING_PIPELINE.format(ring=ring, dir=shm))
    try:
        d.wait_port()
        d.wait_ready()
        with strobe.connect(ring, str(shm)) as conn:
            conn.counter("refused_total").inc(3)
            with conn.span("refused-span"):
                pass
            with pytest.raises(TimeoutError, match="pipeline is refusing data"):
                conn.flush(timeout=0.5)
            # The daemon read the ring and was refused (not a missing daemon): it retries.
            d.poll(lambda: (_value(_metrics(d), 'strobe_shm_push_retries_total{receiver="shm",'
                                   'reason="refused"}') or 0) > 0, "refused pushes counted")
            with pytest.raises(TimeoutError, match="back-pressure"):
                asyncio.run(conn.aflush(timeout=0.2))
            assert _value(_metrics(d), 'strobe_receiver_accepted_spans_total{receiver="shm"}') \
                in (None, 0.0)
    finally:
        d.stop()


def _metrics(d):
    status, _, body = d.request("GET", "/metrics")
    assert status == 200, body
    return body


def _value(text, series):
    """The value of the exact series line `series` (name{labels}) in Prometheus text."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split(" ")[1])
    return None


def test_metrics_spans_and_events_reach_strobe_serve(serve):
    with strobe.connect(serve.ring, serve.shm_dir) as conn:
        requests = conn.counter("py_requests_total", "requests", labelnames=["method"])
        requests.labels("GET").inc(5)
        requests.labels("POST").inc()
        depth = conn.gauge("py_queue_depth")
        depth.set(7.5)
        latency = conn.histogram("py_latency_seconds")
        for v in range(1, 1001):
            latency.record(v / 1000.0)
        with conn.span("GET /users", **{"service.name": "pyshop", "span.kind": "server"}) as root:
            with conn.span("db.query", **{"service.name": "pyshop"}):
                pass
        conn.event("deploy", version="1.2")
        conn.flush(timeout=10)
        trace_hex = root.trace_id.hex()

    def metrics_arrived():
        text = _metrics(serve)
        return text if _value(text, 'py_requests_total{method="GET"}') == 5 else None

    text = serve.poll(metrics_arrived, "py_requests_total on /metrics")
    assert _value(text, 'py_requests_total{method="POST"}') == 1
    assert _value(text, "py_queue_depth") == 7.5
    assert _value(text, "py_latency_seconds_count") == 1000
    assert abs(_value(text, "py_latency_seconds_sum") - 500.5) < 1e-6
    # The receiver's own accounting.
    assert _value(text, 'strobe_receiver_accepted_spans_total{receiver="shm"}') == 2
    assert _value(text, 'strobe_receiver_accepted_log_records_total{receiver="shm"}') == 1
    assert _value(text, 'strobe_shm_records_total{receiver="shm",type="histogram_record"}') == 1000

    def trace_assembled():
        status, _, body = serve.request("GET", "/api/v1/traces/" + trace_hex)
        return body if status == 200 and "db.query" in body else None

    body = serve.poll(trace_assembled, "the trace in /api/v1/traces/{id}")
    assert "pyshop" in body and "GET /users" in body

    # The shm receiver reads the rings of this ring name in the private shm directory, and the
    # snapshot output writes next to them (exact paths, not "the name appears somewhere").
    listeners = serve.get_json("/api/v1/status")["listeners"]
    assert listeners["shm"] == f"{serve.shm_dir}/strobe-{serve.ring}-*", listeners
    assert listeners["shm_snapshot"] == f"{serve.shm_dir}/strobe-{serve.ring}.snapshot", listeners


_VICTIM = """
import sys, strobe
conn = strobe.connect(sys.argv[1], sys.argv[2], capacity_bytes=1 << 14)
c = conn.counter("victim_total")
h = conn.histogram("victim_latency")
print("ready", flush=True)
i = 0
while True:
    i += 1
    c.inc()
    h.record(float(i % 1000))
    if i % 64 == 0:
        conn.event("victim.tick", n=str(i))
"""

_SURVIVOR = """
import sys, strobe
conn = strobe.connect(sys.argv[1], sys.argv[2], policy="spin", spin_limit=1 << 40)
c = conn.counter("survivor_total")
for _ in range(int(sys.argv[3])):
    c.inc()
conn.flush(timeout=30)
print("done", conn.dropped_records, flush=True)
"""


def test_sigkilled_producers_do_not_disturb_other_producers(serve):
    """Producers are killed with SIGKILL while writing, in a loop, next to one that writes an
    exact count: the daemon keeps ingesting, reclaims the dead rings, and the count is exact."""
    py = sys.executable
    env = dict(os.environ)
    n = 300_000
    survivor = subprocess.Popen([py, "-c", _SURVIVOR, serve.ring, serve.shm_dir, str(n)],
                                stdout=subprocess.PIPE, text=True, env=env)
    victims = []
    try:
        kills = 6
        for k in range(kills):
            v = subprocess.Popen([py, "-c", _VICTIM, serve.ring, serve.shm_dir],
                                 stdout=subprocess.PIPE, text=True, env=env)
            victims.append(v)
            assert v.stdout.readline().strip() == "ready"
            time.sleep(0.03 + 0.02 * k)
            v.send_signal(signal.SIGKILL)
            v.wait(timeout=10)
            assert v.returncode == -signal.SIGKILL
        out, _ = survivor.communicate(timeout=120)
        assert survivor.returncode == 0, out
        assert out.split() == ["done", "0"], out
    finally:
        for p in victims + [survivor]:
            if p.poll() is None:
                p.kill()
                p.wait()

    def exact():
        text = _metrics(serve)
        return text if _value(text, "survivor_total") == n else None

    text = serve.poll(exact, f"survivor_total == {n}")

    def reclaimed():
        t = _metrics(serve)
        v = _value(t, 'strobe_shm_rings_reclaimed_total{receiver="shm"}')
        return t if v is not None and v >= kills + 1 else None

    text = serve.poll(reclaimed, "every exited ring reclaimed")
    assert _value(text, 'strobe_shm_invalid_records_total{receiver="shm",reason="malformed_frame"}') in (None, 0)
    assert _value(text, "victim_total") > 0
    # The daemon is still healthy and keeps ingesting.
    with strobe.connect(serve.ring, serve.shm_dir) as conn:
        conn.counter("after_total").inc(3)
        conn.flush(timeout=10)
    serve.poll(lambda: _value(_metrics(serve), "after_total") == 3, "after_total == 3")


def test_a_second_daemon_on_the_same_ring_fails_clearly(serve):
    other = Daemon(_strobe_binary(), args=["--shm", serve.ring],
                   env={"STROBE_SHM_DIR": serve.shm_dir})
    try:
        code = other.wait_exit(timeout=20)
        assert code != 0
        assert "already consumed by pid" in other.read_log()
    finally:
        other.stop()


def _find(metrics, name):
    for m in metrics:
        if m["name"] == name:
            return m
    return None


def test_results_come_back_through_the_snapshot_without_http(serve):
    """Write, flush, then read the daemon's own aggregate back from the shared snapshot."""
    with strobe.connect(serve.ring, serve.shm_dir) as conn:
        conn.counter("snap_requests_total", labelnames=["code"]).labels("200").inc(7)
        conn.histogram("snap_latency_seconds").record(0.25)
        conn.flush(timeout=10)
        deadline = time.monotonic() + 20
        found = None
        while found is None:
            assert time.monotonic() < deadline, "counter never appeared in the snapshot"
            snap = conn.wait_snapshot(timeout=10)
            m = _find(snap["metrics"]["metrics"], "snap_requests")
            if m and m["series"] and m["series"][0]["value"] == 7:
                found = snap
        assert found["generation"] >= 1 and found["time_unix_ns"] > 0
        series = _find(found["metrics"]["metrics"], "snap_requests")["series"][0]
        assert series["labels"] == {"code": "200"}
        assert {"metrics", "windows", "alerts", "service_graph"} <= set(found)
        # Module-level read with no connection at all.
        assert strobe.read_snapshot(serve.ring, serve.shm_dir)["generation"] >= found["generation"]
        assert isinstance(conn.metrics(), list) and isinstance(conn.alerts(), dict)


def test_asyncio_snapshot_wait_does_not_block_the_loop(serve):
    async def main():
        conn = strobe.connect(serve.ring, serve.shm_dir)
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        t = asyncio.create_task(ticker())
        first = await conn.asnapshot(timeout=10)
        second = await conn.asnapshot(newer_than=first["generation"], timeout=10)
        t.cancel()
        conn.close()
        return first, second, ticks

    first, second, ticks = asyncio.run(main())
    assert second["generation"] > first["generation"]
    assert ticks >= 5  # the ticker ran while we waited (a snapshot every 250 ms)


def test_snapshot_errors_are_clear(tmp_path, serve):
    with pytest.raises(strobe.DaemonNotRunning):
        strobe.read_snapshot("nodaemon", str(tmp_path))
    (tmp_path / "strobe-junk.snapshot").write_bytes(b"\0" * 4096)
    with pytest.raises(strobe.StrobeError) as e:
        strobe.read_snapshot("junk", str(tmp_path))
    assert "magic" in str(e.value)
    conn = strobe.connect(serve.ring, serve.shm_dir)
    conn.close()
    with pytest.raises(strobe.ConnectionClosed):
        conn.snapshot()
    with pytest.raises(TimeoutError):
        with strobe.connect(serve.ring, serve.shm_dir) as c:
            c.wait_snapshot(newer_than=1 << 62, timeout=0.3)


def test_stream_windows_and_alerts_come_back_too():
    """With the demo workload the daemon computes windows and evaluates alert rules; both
    are in the snapshot."""
    ring = "py" + uuid.uuid4().hex[:10]
    d = Daemon(_strobe_binary(), args=["--shm", ring, "--demo"])
    try:
        d.wait_port()
        d.wait_ready()
        deadline = time.monotonic() + 20
        while True:
            snap = strobe.read_snapshot(ring, d.shm_dir)
            windows = snap.get("windows", {}).get("series", [])
            alerts = snap.get("alerts", {}).get("alerts", [])
            if windows and alerts:
                break
            assert time.monotonic() < deadline, (len(windows), snap.get("alerts"))
            time.sleep(0.1)
        assert any(w.get("window") == "demo_http" for w in windows)
        # Each alert in the snapshot is an instance of one of the demo rules (config/defaults.cc)
        # over a demo_http series, and its state agrees with its value and times: active (pending
        # or firing) only above the rule's threshold, firing only once `for` has passed since it
        # became active, pending with no firing time. Resolved instances are not held
        # (AlertEngine::End erases them; their transition is in the history).
        rules = {"HighLatencyP99": ("warning", 1.0, 20), "HighErrorRate": ("critical", 0.10, 10)}
        for a in alerts:
            severity, threshold, for_s = rules[a["name"]]
            assert a["labels"]["alertname"] == a["name"] and a["severity"] == severity, a
            assert a["labels"]["window"] == "demo_http", a
            assert {"service.name", "http.route"} <= set(a["labels"]), a
            assert a["value"] > threshold, a
            if a["state"] == "pending":
                assert "firedAt" not in a, a
            else:
                assert a["state"] == "firing", a
                assert _rfc3339_s(a["firedAt"]) - _rfc3339_s(a["activeAt"]) >= for_s - 1e-3, a
    finally:
        d.stop()
    with pytest.raises(strobe.DaemonNotRunning):
        strobe.read_snapshot(ring, d.shm_dir)  # removed at shutdown


def _rfc3339_s(text):
    """Seconds since the epoch of an RFC 3339 UTC time with milliseconds (2026-12-07T23:33:52.361Z)."""
    import datetime
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def test_flush_and_aflush_report_records_the_daemon_refused(serve):
    """Points of a series the daemon never saw defined are read and refused: flush() and
    aflush() raise DataLossError once, with the exact count in ``records``, and a later flush
    of good data succeeds (issue 14, hole 5: aflush() used to ignore refusals)."""
    import numpy as np

    with strobe.connect(serve.ring, serve.shm_dir) as conn:
        good = conn.counter("py_loss_good_total")
        good.inc()
        conn.flush(timeout=10)
        conn.batch(np.array([999_999] * 7, dtype=np.uint64), np.ones(7), kind="counter")
        with pytest.raises(strobe.DataLossError, match="refused 7 record") as e:
            conn.flush(timeout=10)
        assert e.value.records == 7
        assert isinstance(e.value, strobe.StrobeError)
        good.inc()
        conn.flush(timeout=10)  # reported once: nothing new was refused

        conn.batch(np.array([999_999] * 3, dtype=np.uint64), np.ones(3), kind="gauge")
        with pytest.raises(strobe.DataLossError) as e:
            asyncio.run(conn.aflush(timeout=10))
        assert e.value.records == 3
        asyncio.run(conn.aflush(timeout=10))

    def counted():
        v = _value(_metrics(serve), 'strobe_shm_invalid_records_total{receiver="shm",'
                   'reason="unknown_series"}')
        return v if v == 10 else None
    serve.poll(counted, "the 10 refused points counted as unknown_series")


# ---- prometheus_client compatibility (issue 15) -----------------------------------------------

_OPENMETRICS = {"Accept": "application/openmetrics-text; version=1.0.0"}


def _family(text, name):
    """The lines of metric family `name` in an exposition: its # comments and its samples."""
    return [line for line in text.splitlines()
            if line.split(" ")[0].split("{")[0] in (name, name + "_bucket", name + "_sum",
                                                    name + "_count", name + "_total",
                                                    name + "_created")
            or (line.startswith("# ") and line.split(" ")[2] == name)]


def _wait_metrics(serve, line):
    return serve.poll(lambda: (lambda t: t if line in t.splitlines() else None)(_metrics(serve)),
                      repr(line) + " on /metrics")


def test_description_and_unit_reach_metrics_as_help_and_unit(serve):
    """description → # HELP (text 0.0.4 and OpenMetrics); unit → # UNIT and the name suffix, as
    prometheus_client exposes them; the unit travels as UCUM ("seconds" → "s")."""
    with strobe.connect(serve.ring, serve.shm_dir) as conn:
        conn.counter("py_jobs_total", "Jobs done.").inc(3)
        req = conn.histogram("py_request_latency", "Request latency.", ["route"],
                             unit="seconds")
        req.labels("/a").observe(0.25)
        conn.gauge("py_cache", "Cache size.", unit="bytes").set(4096)
        conn.flush(timeout=10)
    text = _wait_metrics(serve, 'py_request_latency_seconds_count{route="/a"} 1')
    assert "# HELP py_jobs_total Jobs done." in text.splitlines()
    assert "# HELP py_request_latency_seconds Request latency." in text.splitlines()
    assert "# HELP py_cache_bytes Cache size." in text.splitlines()
    assert _value(text, "py_cache_bytes") == 4096
    status, _, om = serve.request("GET", "/metrics", headers=_OPENMETRICS)
    assert status == 200
    lines = om.splitlines()
    assert "# UNIT py_request_latency_seconds seconds" in lines
    assert "# HELP py_request_latency_seconds Request latency." in lines
    assert "# UNIT py_cache_bytes bytes" in lines
    assert "# HELP py_jobs Jobs done." in lines
    fam = {m["name"]: m for m in serve.get_json("/api/v1/metrics")["metrics"]}
    assert fam["py_request_latency_seconds"]["help"] == "Request latency."
    assert fam["py_request_latency_seconds"]["unit"] == "seconds"


def test_histogram_buckets_are_counted_in_exactly_those_buckets(serve):
    """Histogram(..., buckets=[...]) as in prometheus_client: the daemon receives an
    explicit-bounds histogram and /metrics shows exactly those `le` lines plus +Inf."""
    with strobe.connect(serve.ring, serve.shm_dir) as conn:
        h = conn.histogram("py_sizes", "Sizes.", buckets=[0.1, 0.5, 1, 5, float("inf")])
        assert h.buckets == (0.1, 0.5, 1.0, 5.0)
        for v in (0.05, 0.1, 0.3, 0.7, 2, 10, -1):
            h.observe(v)
        conn.flush(timeout=10)
    text = _wait_metrics(serve, "py_sizes_count 7")
    assert [line for line in _family(text, "py_sizes") if not line.startswith("#")] == [
        'py_sizes_bucket{le="0.1"} 3',
        'py_sizes_bucket{le="0.5"} 4',
        'py_sizes_bucket{le="1"} 5',
        'py_sizes_bucket{le="5"} 6',
        'py_sizes_bucket{le="+Inf"} 7',
        "py_sizes_sum 12.15",
        "py_sizes_count 7",
    ]
    with strobe.connect(serve.ring, serve.shm_dir) as conn:
        for bad in ([], [float("inf")], [2, 1], [1, 1], [float("nan")], "1,2"):
            with pytest.raises((ValueError, TypeError)):
                conn.histogram("py_bad", buckets=bad)


def test_counter_inc_takes_fractions_exactly_and_refuses_negatives(serve):
    """counter.inc(1.5) works as in prometheus_client and the total is exact: ten inc(0.1)
    give 1 (0.9999999999999999 when summed as floats), plus 1.5 and 2 → 4.5."""
    with strobe.connect(serve.ring, serve.shm_dir) as conn:
        c = conn.counter("py_fraction_total", labelnames=["k"]).labels("a")
        for _ in range(10):
            c.inc(0.1)
        c.inc(1.5)
        c.inc(2.0)
        c.inc(True)  # an int
        with pytest.raises(ValueError, match="non-negative"):
            c.inc(-0.5)
        with pytest.raises(ValueError, match="non-negative"):
            c.inc(-1)
        with pytest.raises(ValueError):
            c.inc(float("nan"))
        with pytest.raises(ValueError):
            c.inc(float("inf"))
        with pytest.raises(TypeError):
            c.inc("1.5")
        conn.flush(timeout=10)  # nothing refused: no DataLossError
    text = _wait_metrics(serve, 'py_fraction_total{k="a"} 5.5')
    assert _value(text, 'py_fraction_total{k="a"}') == 5.5


def test_histogram_time_records_seconds(serve):
    """hist.time() (context manager and decorator) records seconds, as prometheus_client."""
    def busy(seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    with strobe.connect(serve.ring, serve.shm_dir) as conn:
        h = conn.histogram("py_work_seconds", buckets=[0.001, 60])
        with h.time():
            busy(0.02)

        @h.time()
        def work():
            busy(0.02)

        work()
        work()
        conn.flush(timeout=10)
    text = _wait_metrics(serve, "py_work_seconds_count 3")
    # Each took at least 20 ms and (on any machine running this) far less than a minute:
    # recorded in nanoseconds they would all be in +Inf only.
    assert _value(text, 'py_work_seconds_bucket{le="0.001"}') == 0
    assert _value(text, 'py_work_seconds_bucket{le="60"}') == 3
    assert 0.06 <= _value(text, "py_work_seconds_sum") < 180


_CONNECT_AS = """
import sys, strobe
try:
    strobe.connect(sys.argv[1], sys.argv[2], require_daemon=sys.argv[3] == "1")
except Exception as e:
    print(type(e).__name__, isinstance(e, PermissionError), isinstance(e, strobe.StrobeError))
    print(e)
else:
    print("connected")
"""


def _connect_as_other_user(ring, shm_dir, require_daemon=True):
    """Runs strobe.connect() in a subprocess as a user who is not the daemon's: `nobody` when
    the tests run as root (root bypasses file permissions), else the test user itself."""
    import pwd

    preexec = None
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")

        def preexec():
            os.setgid(nobody.pw_gid)
            os.setgroups([])
            os.setuid(nobody.pw_uid)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable, "-c", _CONNECT_AS, ring, shm_dir,
                          "1" if require_daemon else "0"], env=env,
                         preexec_fn=preexec, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_a_permission_problem_on_the_ring_says_so(serve):
    """The daemon's ring directory is not accessible to the producer's user (a daemon running
    as another user): connect() raises strobe.PermissionDenied (a PermissionError) naming the
    path, not DaemonNotRunning. Both ways it happens: the daemon marker cannot be opened
    (directory 0700 of another user) and the segment cannot be created (directory not
    writable; require_daemon=False skips the marker)."""
    os.chmod(serve.tmp, 0o755)  # the parent is traversable; the ring directory decides
    os.chmod(serve.shm_dir, 0o700 if os.geteuid() == 0 else 0o000)
    try:
        lines = _connect_as_other_user(serve.ring, serve.shm_dir)
        assert lines[0] == "PermissionDenied True True", lines
        marker = os.path.join(serve.shm_dir, "strobe-%s.daemon" % serve.ring)
        assert "permission denied" in lines[1] and marker in lines[1], lines

        os.chmod(serve.shm_dir, 0o755 if os.geteuid() == 0 else 0o555)
        lines = _connect_as_other_user(serve.ring, serve.shm_dir, require_daemon=False)
        assert lines[0] == "PermissionDenied True True", lines
        assert "permission denied creating shm segment" in lines[1], lines
        assert serve.shm_dir in lines[1] and "another user" in lines[1], lines
    finally:
        os.chmod(serve.shm_dir, 0o700)
    # The daemon itself is unaffected and still serves its own user.
    with strobe.connect(serve.ring, serve.shm_dir) as conn:
        conn.counter("py_after_permission_total").inc()
        conn.flush(timeout=10)


_OTLP_OUT = """\
receivers:
  shm: {{name: {ring}, dir: {dir}}}
exporters:
  otlp_http: {{endpoint: "http://127.0.0.1:{port}", compression: none}}
service:
  pipelines:
    all: {{receivers: [shm], exporters: [otlp_http]}}
shutdown:
  grace_period: 1s
"""


def _otlp_metrics(body):
    """{name: {"description", "unit", "kind", "bounds", "counts", "count", "sum"}} of an OTLP
    ExportMetricsServiceRequest (metrics/v1 field numbers; histogram = field 9)."""
    import struct

    sys.path.insert(0, str(ROOT / "tests" / "hostile"))
    from otlp_pb import fields

    out = {}
    for _, _, rm in (f for f in fields(body) if f[0] == 1):
        for _, _, sm in (f for f in fields(body, *rm) if f[0] == 2):
            for _, _, m in (f for f in fields(body, *sm) if f[0] == 2):
                e = {"description": "", "unit": "", "kind": None}
                for num, wt, v in fields(body, *m):
                    if num in (1, 2, 3) and wt == 2:
                        key = {1: "name", 2: "description", 3: "unit"}[num]
                        e[key] = body[v[0]:v[1]].decode()
                    elif num in (5, 7, 9, 10) and wt == 2:
                        e["kind"] = {5: "gauge", 7: "sum", 9: "histogram",
                                     10: "exponential_histogram"}[num]
                        if num == 9:
                            for n2, _, p in fields(body, *v):
                                if n2 != 1:
                                    continue
                                for n3, w3, pv in fields(body, *p):
                                    if n3 == 4 and w3 == 1:
                                        e["count"] = struct.unpack("<Q", pv)[0]
                                    elif n3 == 5 and w3 == 1:
                                        e["sum"] = struct.unpack("<d", pv)[0]
                                    elif n3 == 6 and w3 == 2:
                                        raw = body[pv[0]:pv[1]]
                                        e["counts"] = list(struct.unpack(
                                            "<%dQ" % (len(raw) // 8), raw))
                                    elif n3 == 7 and w3 == 2:
                                        raw = body[pv[0]:pv[1]]
                                        e["bounds"] = list(struct.unpack(
                                            "<%dd" % (len(raw) // 8), raw))
                out[e["name"]] = e
    return out


def test_description_unit_and_buckets_leave_strobe_in_otlp(tmp_path):
    """The same metadata in the metric's OTLP form: an otlp_http exporter delivers the Python
    histogram as an explicit-bounds HistogramDataPoint with the UCUM unit and description."""
    import http.server
    import threading

    bodies = []

    class Sink(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            data = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/v1/metrics":
                bodies.append(data)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ring = "py" + uuid.uuid4().hex[:10]
    shm = tmp_path / "shm"
    shm.mkdir(mode=0o700)
    d = Daemon(_strobe_binary(), args=["--shm", "off"],
               config_text=_OTLP_OUT.format(ring=ring, dir=shm, port=server.server_port))
    try:
        d.wait_port()
        d.wait_ready()
        with strobe.connect(ring, str(shm)) as conn:
            h = conn.histogram("py_otlp_latency", "Latency.", unit="seconds",
                               buckets=[0.1, 1])
            for v in (0.05, 0.5, 2):
                h.observe(v)
            conn.counter("py_otlp_jobs_total", "Jobs.").inc(0.5)
            conn.flush(timeout=10)

        def delivered():
            seen = {}
            for b in list(bodies):
                seen.update(_otlp_metrics(b))
            return seen if {"py_otlp_latency", "py_otlp_jobs_total"} <= set(seen) else None

        seen = d.poll(delivered, "both metrics exported over OTLP")
    finally:
        d.stop()
        server.shutdown()
        server.server_close()
    h = seen["py_otlp_latency"]
    assert (h["kind"], h["unit"], h["description"]) == ("histogram", "s", "Latency.")
    assert (h["bounds"], h["counts"], h["count"], h["sum"]) == ([0.1, 1.0], [1, 1, 1], 3, 2.55)
    c = seen["py_otlp_jobs_total"]
    assert (c["kind"], c["unit"], c["description"]) == ("sum", "", "Jobs.")
