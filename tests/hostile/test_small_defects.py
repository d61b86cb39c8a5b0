"""Hole 10, the smaller defects of issue 14 (one test per defect):

- a) `--config` naming a directory aborted (exit 134) and a SIGHUP after the config path became
  a directory killed the daemon. Now start refuses with a clear error and exit code 2 (like any
  config error); a failed reload keeps the running configuration, logs why and is counted in
  strobe_config_reloads_total{result="error"}. A FIFO must not block; an unreadable file is an
  error.
- b) spans lost to a dead backend after the pipeline's retries are counted once (100, not 500).
- c) SIGTERM with exporters stuck on dead backends (one never answers, one refuses) exits
  within the grace period plus a small margin, and the log names how many events each
  pipeline dropped at shutdown.
- d) a metric point whose label value is not UTF-8 is refused alone, counted
  (reason="invalid_utf8") and named in the partial-success reply; the other points of the
  request are stored and shown, and /metrics stays valid UTF-8.
- e) a daemon killed with SIGKILL left its snapshot segment and marker in the shm directory
  until the same ring name started again; now any later daemon of the same user removes them
  (never a live daemon's files, never another user's), logs and counts it.
- f) spans the trace store evicts under its memory bound are counted as dropped
  (reason="exporter_evicted") by the exporter stage, not as forwarded.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

import otlp_pb
from hostile import assert_serving, metric, wait_metric


def run_serve(binary, config_path, timeout=15):
    """Runs `strobe serve --config config_path` to its exit; returns (exit code, output)."""
    tmp = tempfile.mkdtemp(prefix="strobe-h-")
    env = dict(os.environ, STROBE_SHM_DIR=tmp)
    env.pop("STROBE_TOKEN", None)
    p = subprocess.run([binary, "serve", "--config", config_path, "--http", "127.0.0.1:0",
                        "--otlp-http", "off", "--otlp-grpc", "off", "--wire", "off",
                        "--data-dir", os.path.join(tmp, "data")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace")


def test_a_config_directory_fifo_or_unreadable_is_a_clear_error(strobe_binary, tmp_path):
    code, out = run_serve(strobe_binary, str(tmp_path))
    assert code == 2, (code, out)
    assert "%s: cannot read: is a directory" % tmp_path in out, out

    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # nobody writes: a blocking open would hang start until the timeout
    code, out = run_serve(strobe_binary, str(fifo))
    assert code == 2, (code, out)
    assert "%s: cannot read: not a regular file" % fifo in out, out

    if os.geteuid() != 0:  # root reads a mode-0 file anyway
        secret = tmp_path / "secret.yaml"
        secret.write_text("log:\n  level: info\n")
        secret.chmod(0)
        code, out = run_serve(strobe_binary, str(secret))
        assert code == 2, (code, out)
        assert "cannot read: Permission denied" in out, out


def test_a_sighup_after_config_became_a_directory_keeps_serving(daemon):
    d = daemon(config_text="log:\n  level: info\n")
    before = metric(d, "strobe_config_reloads_total", result="error")
    os.unlink(d.config_path)
    os.mkdir(d.config_path)
    d.signal(signal.SIGHUP)
    d.poll(lambda: "reload failed" in d.read_log() or d.proc.poll() is not None, "reload failure")
    assert_serving(d)
    assert "reload failed, keeping the running configuration: %s: cannot read: is a directory" % (
        d.config_path) in d.read_log()
    assert metric(d, "strobe_config_reloads_total", result="error") - before == 1
    status = d.get_json("/api/v1/status")
    assert status["config"]["last_reload"].startswith("error: "), status["config"]

    # A FIFO in its place must not block the reload (nor the signal loop) either.
    os.rmdir(d.config_path)
    os.mkfifo(d.config_path)
    d.signal(signal.SIGHUP)
    d.poll(lambda: metric(d, "strobe_config_reloads_total", result="error") - before == 2,
           "second reload failure", timeout=10)
    assert_serving(d)


# --- b) the exporter failure counter ----------------------------------------------------------

def free_port():
    """A TCP port nobody listens on (bound, then closed: connecting to it is refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def otlp_spans(n, trace_byte=1, attrs=None):
    """An OTLP/JSON traces body of `n` spans of one trace (ids derived from `trace_byte`)."""
    trace_id = "%02x" % trace_byte * 16
    spans = []
    for i in range(n):
        start = 1_700_000_000_000_000_000 + i * 1000
        spans.append({"traceId": trace_id, "spanId": "%016x" % (trace_byte << 32 | (i + 1)),
                      "parentSpanId": "" if i == 0 else "%016x" % (trace_byte << 32 | 1),
                      "name": "op-%d" % i, "kind": 2, "startTimeUnixNano": str(start),
                      "endTimeUnixNano": str(start + 500), "attributes": attrs or []})
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "h"}}]},
        "scopeSpans": [{"scope": {"name": "hostile"}, "spans": spans}]}]}).encode()


def post(addr, path, body, content_type="application/json", timeout=10):
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": content_type})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_b_spans_lost_after_retries_are_counted_once(daemon):
    dead = free_port()
    d = daemon(args=["--set", "host.enabled=false"], config_text="""
receivers:
  otlp_http: {endpoint: "127.0.0.1:0"}
exporters:
  otlp_http: {endpoint: "http://127.0.0.1:%d", timeout: 1s}
service:
  pipelines:
    traces:
      receivers: [otlp_http]
      exporters: [otlp_http]
      retry: {max_attempts: 5, initial_backoff: 5ms, max_backoff: 20ms}
""" % dead)
    otlp = d.wait_otlp()
    stage = {"pipeline": "traces", "stage": "exporter/otlp_http"}
    for trace in (1, 2):  # two requests of 50 spans: 100 spans, each lost after 5 attempts
        status, body = post(otlp, "/v1/traces", otlp_spans(50, trace_byte=trace))
        assert status == 200, (status, body)
    wait_metric(d, "strobe_pipeline_dropped_events_total", 100, reason="retry_exhausted", **stage)
    d.poll(lambda: metric(d, "strobe_pipeline_in_flight_events", **stage) == 0, "nothing parked")
    assert_serving(d)
    lost = metric(d, "strobe_pipeline_dropped_events_total", **stage)  # every reason
    assert lost == 100, lost
    assert metric(d, "strobe_pipeline_dropped_events_total", reason="retry_exhausted",
                  **stage) == 100
    assert metric(d, "strobe_pipeline_received_events_total", **stage) == 100
    assert metric(d, "strobe_pipeline_forwarded_events_total", **stage) == 0
    # The exporter's own failure counter names items, not attempts: nothing it was told to
    # drop for good (the pipeline did); its retries count requests handed back.
    assert metric(d, "strobe_exporter_send_failed_spans_total", exporter="otlp_http") == 0
    assert metric(d, "strobe_exporter_sent_spans_total", exporter="otlp_http") == 0


# --- c) SIGTERM with a dead backend -----------------------------------------------------------

GRACE_S = 2.0
MARGIN_S = 1.5  # docs/configuration.md (shutdown.grace_period): exit within grace + this


def blackhole():
    """A listening socket that completes TCP handshakes (the kernel's backlog) but never
    accepts nor answers: an exporter connected to it waits for its own timeout."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s


def test_c_sigterm_with_dead_backends_stops_within_grace_and_counts_the_drop(daemon):
    hole = blackhole()
    refused = free_port()
    try:
        d = daemon(args=["--set", "host.enabled=false", "--grace-period", "%gs" % GRACE_S],
                   config_text="""
receivers:
  otlp_http: {endpoint: "127.0.0.1:0"}
exporters:
  otlp_http/hang: {endpoint: "http://127.0.0.1:%d", timeout: 30s}
  otlp_http/refused: {endpoint: "http://127.0.0.1:%d", timeout: 30s}
service:
  pipelines:
    traces/hang: {receivers: [otlp_http], exporters: [otlp_http/hang]}
    traces/refused:
      receivers: [otlp_http]
      exporters: [otlp_http/refused]
      retry: {max_attempts: 1000, initial_backoff: 100ms, max_backoff: 100ms}
""" % (hole.getsockname()[1], refused))
        otlp = d.wait_otlp()
        for trace in (1, 2, 3):  # 3 x 10 spans to each pipeline
            status, body = post(otlp, "/v1/traces", otlp_spans(10, trace_byte=trace))
            assert status == 200, (status, body)
        # Every span is in both pipelines; one exporter is blocked in a request with the rest
        # queued behind it, the other fails and backs off.
        for p in ("hang", "refused"):
            wait_metric(d, "strobe_pipeline_received_events_total", 30, pipeline="traces/" + p,
                        stage="queue")
        wait_metric(d, "strobe_pipeline_received_events_total", 10, pipeline="traces/hang",
                    stage="exporter/otlp_http/hang")
        assert_serving(d)
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        code = d.wait_exit(timeout=30)
        took = time.monotonic() - t0
        log = d.read_log()
        assert code == 0, (code, log[-3000:])
        assert took <= GRACE_S + MARGIN_S, "exit took %.1f s for a %.0f s grace:\n%s" % (
            took, GRACE_S, log[-3000:])
        # Every span the dead backends did not take is counted as dropped at shutdown, by
        # pipeline, in the log (the metrics endpoint is gone by now).
        for p in ("hang", "refused"):
            m = re.search(r"pipeline 'traces/%s' .*dropped (\d+) events" % p, log)
            assert m and int(m.group(1)) == 30, log[-3000:]
    finally:
        hole.close()


# --- d) metric label values that are not UTF-8 ------------------------------------------------

def otlp_gauges(name, points):
    """ExportMetricsServiceRequest (protobuf) with one gauge `name` of `points`
    [(labels as [(bytes, bytes)], value)]; label values go on the wire as given."""
    now = time.time_ns()
    return otlp_pb.metrics_request({"service.name": "h"}, [otlp_pb.gauge_metric(
        name, [otlp_pb.number_point(dict(labels), now, v) for labels, v in points])])


def test_d_label_value_not_utf8_is_refused_alone_and_counted(daemon):
    d = daemon(args=["--set", "host.enabled=false"], config_text="""
receivers:
  otlp_http: {endpoint: "127.0.0.1:0"}
exporters:
  prometheus: {}
service:
  pipelines:
    metrics: {receivers: [otlp_http], exporters: [prometheus]}
""")
    otlp = d.wait_otlp()
    refused = dict(receiver="otlp_http", reason="invalid_utf8")
    before = metric(d, "strobe_receiver_refused_metric_points_total", **refused)
    body = otlp_gauges(b"h_temp", [
        ([(b"room", b"alice")], 10.0),
        ([(b"room", b"b\xffob")], 20.0),          # not UTF-8
        ([(b"room", b"caf\xc3\xa9")], 30.0),      # UTF-8 (e-acute): kept as is
        ([(b"room", b"over\xc0\xaflong")], 40.0), # overlong '/': not UTF-8
    ])
    status, reply = post(otlp, "/v1/metrics", body, content_type="application/x-protobuf")
    assert status == 200, (status, reply)
    assert b"not valid UTF-8" in reply, reply  # partial success names the refusal
    assert metric(d, "strobe_receiver_refused_metric_points_total", **refused) - before == 2
    assert metric(d, "strobe_receiver_accepted_metric_points_total", receiver="otlp_http") == 2

    def exposition():
        status, _, text = d.request("GET", "/metrics", headers=d.auth_headers())
        assert status == 200
        return text if "h_temp{" in text else None
    text = d.poll(exposition, "h_temp in /metrics", timeout=15)
    raw = text.encode()
    raw.decode("utf-8")  # the exposition is valid UTF-8 throughout
    lines = sorted(l for l in text.splitlines() if l.startswith("h_temp{"))
    assert len(lines) == 2, lines
    assert 'room="alice"' in lines[0] and lines[0].endswith(" 10"), lines
    assert 'room="café"' in lines[1] and lines[1].endswith(" 30"), lines
    assert_serving(d)


# --- e) stale snapshot and marker of a crashed daemon -----------------------------------------

def test_e_stale_files_of_a_killed_daemon_are_removed_at_next_start(daemon, tmp_path):
    shm = str(tmp_path / "shm")
    os.mkdir(shm, 0o700)
    env = {"STROBE_SHM_DIR": shm}
    live = daemon(args=["--shm", "live"], env=env)
    crashed = daemon(args=["--shm", "old"], env=env)
    old_files = [os.path.join(shm, "strobe-old.snapshot"), os.path.join(shm, "strobe-old.daemon")]
    live_files = [os.path.join(shm, "strobe-live.snapshot"),
                  os.path.join(shm, "strobe-live.daemon")]
    for f in old_files + live_files:
        assert os.path.exists(f), (f, os.listdir(shm))
    crashed.proc.send_signal(signal.SIGKILL)
    crashed.proc.wait(timeout=10)
    assert all(os.path.exists(f) for f in old_files)  # a SIGKILL cannot clean up
    dead_pid = crashed.proc.pid
    # A file another user owns naming the same dead pid is not ours to remove (root only:
    # chown needs it), and neither is a marker of a live process.
    other = os.path.join(shm, "strobe-other.daemon")
    with open(other, "w") as f:
        f.write("%d\n" % dead_pid)
    if os.geteuid() == 0:
        os.chown(other, 65534, 65534)
    alive = os.path.join(shm, "strobe-mine.daemon")
    with open(alive, "w") as f:
        f.write("%d\n" % os.getpid())

    fresh = daemon(args=["--shm", "new"], env=env)
    for f in old_files:
        assert not os.path.exists(f), (f, os.listdir(shm))
    for f in live_files + [alive] + ([other] if os.geteuid() == 0 else []):
        assert os.path.exists(f), (f, os.listdir(shm))
    assert metric(fresh, "strobe_shm_stale_files_removed_total") == 2
    log = fresh.read_log()
    for f in old_files:
        assert "removed %s left by dead daemon pid %d" % (f, dead_pid) in log, log[-2000:]
    assert_serving(live)
    assert_serving(fresh)


# --- f) spans evicted by the trace store are not "forwarded" ----------------------------------

def test_f_spans_evicted_by_the_trace_store_are_counted_dropped_not_forwarded(daemon):
    d = daemon(args=["--set", "host.enabled=false"], config_text="""
receivers:
  otlp_http: {endpoint: "127.0.0.1:0"}
exporters:
  trace_analysis: {max_pending_traces: 2, quiet_period: 1h, max_trace_age: 1h}
service:
  pipelines:
    traces: {receivers: [otlp_http], exporters: [trace_analysis]}
""")
    otlp = d.wait_otlp()
    for trace in range(1, 11):  # 10 traces of 5 spans; 2 may stay pending: 8 evicted
        status, body = post(otlp, "/v1/traces", otlp_spans(5, trace_byte=trace))
        assert status == 200, (status, body)
    stage = {"pipeline": "traces", "stage": "exporter/trace_analysis"}
    wait_metric(d, "strobe_pipeline_received_events_total", 50, **stage)
    assert metric(d, "strobe_trace_evicted_traces_total") == 8
    assert metric(d, "strobe_pipeline_dropped_events_total", reason="exporter_evicted",
                  **stage) == 40
    assert metric(d, "strobe_pipeline_forwarded_events_total", **stage) == 10
    assert metric(d, "strobe_pipeline_dropped_events_total", **stage) == 40  # no other reason
    # The two traces still held are there in full.
    for trace in (9, 10):
        got = d.get_json("/api/v1/traces/" + "%02x" % trace * 16)
        assert got["spanCount"] == 5, got
    assert_serving(d)
