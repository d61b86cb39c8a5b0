#!/usr/bin/python3
"""Black-box tests of `strobe serve`: configuration errors (file:line, exit 2), --print-config,
auth (401/200), error codes (404/405/413/400/431), graceful shutdown with a request in flight,
SIGHUP reload, a second instance on the same port. Usage: test_daemon.py path/to/strobe"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from strobe_proc import Daemon  # noqa: E402

STROBE = sys.argv[1]
failures = []


def check(cond, what, detail=""):
    if cond:
        print("ok:", what)
    else:
        print("FAIL:", what, detail)
        failures.append(what)


def run(args, env=None, timeout=20):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([STROBE] + args, capture_output=True, text=True, timeout=timeout, env=full_env)


def test_config_errors():
    tmp = tempfile.mkdtemp(prefix="strobe-cfg-")
    bad = os.path.join(tmp, "bad.yaml")
    with open(bad, "w") as f:
        f.write("listen:\n  http: 127.0.0.1:0\nserver:\n  max_bdy_bytes: 4MiB\n")
    r = run(["serve", "--config", bad])
    check(r.returncode == 2, "unknown key exits 2", r.returncode)
    check(bad + ":4:3: unknown key 'server.max_bdy_bytes'" in r.stderr, "error names file:line:col and key", r.stderr)

    with open(bad, "w") as f:
        f.write("host:\n  interval: soon\n")
    r = run(["serve", "--config", bad])
    check(r.returncode == 2 and bad + ":2:13: host.interval:" in r.stderr, "bad value names file:line", r.stderr)

    with open(bad, "w") as f:
        f.write("listen: [1, 2\n")
    r = run(["serve", "--config", bad])
    check(r.returncode == 2 and "invalid YAML" in r.stderr, "broken YAML exits 2", r.stderr)

    # Pipeline sections are validated by their component at start: still exit 2, file:line.
    with open(bad, "w") as f:
        f.write("listen:\n  http: 127.0.0.1:0\n  otlp_http: 127.0.0.1:0\nexporters:\n  nosuch: {}\n"
                "service:\n  pipelines:\n    traces: {exporters: [nosuch]}\n")
    r = run(["serve", "--config", bad, "--set", "host.enabled=false"])
    check(r.returncode == 2 and bad + ":5: unknown exporter type 'nosuch'" in r.stderr,
          "unknown pipeline component exits 2 with file:line", (r.returncode, r.stderr))
    with open(bad, "w") as f:
        f.write("listen:\n  http: 127.0.0.1:0\n  otlp_http: 127.0.0.1:0\nreceivers:\n  otlp_http: {}\n"
                "exporters:\n  memory: {}\nconnectors:\n  forward/a: {}\n  forward/b: {}\nservice:\n"
                "  pipelines:\n"
                "    traces/1: {receivers: [otlp_http, forward/b], exporters: [forward/a]}\n"
                "    traces/2: {receivers: [forward/a], exporters: [forward/b, memory]}\n")
    r = run(["serve", "--config", bad, "--set", "host.enabled=false"])
    check(r.returncode == 2 and "pipelines form a cycle" in r.stderr and bad + ":" in r.stderr,
          "pipeline cycle exits 2 with file:line", (r.returncode, r.stderr))

    r = run(["serve", "--config", os.path.join(tmp, "missing.yaml")])
    check(r.returncode == 2 and "not found" in r.stderr, "missing file exits 2", r.stderr)

    r = run(["serve", "--http", "nowhere"])
    check(r.returncode == 2 and "flag --http" in r.stderr, "bad flag value exits 2", r.stderr)

    r = run(["serve", "--print-config"], env={"STROBE_HOST_INTERVAL": "bogus"})
    check(r.returncode == 2 and "environment STROBE_HOST_INTERVAL" in r.stderr, "bad env exits 2", r.stderr)

    good = os.path.join(tmp, "good.yaml")
    with open(good, "w") as f:
        f.write("host:\n  interval: 2s\npipelines:\n  traces: {receivers: [otlp_http]}\n")
    r = run(["serve", "--config", good, "--print-config", "--set", "demo.rate=50"],
            env={"STROBE_TOKEN": "hunter2", "STROBE_HTTP": ":0"})
    check(r.returncode == 0, "--print-config exits 0", r.stderr)
    check("interval: 2s" in r.stdout and "rate: 50" in r.stdout and "http: 127.0.0.1:0" in r.stdout,
          "--print-config shows file, env and flag values", r.stdout)
    check("hunter2" not in r.stdout and "<redacted>" in r.stdout, "--print-config redacts the token")
    check("pipelines:" in r.stdout, "--print-config includes module sections")


def test_auth_and_errors():
    d = Daemon(STROBE, env={"STROBE_TOKEN": "s3cret"}, args=["--set", "server.max_body_bytes=1KiB",
                                                             "--set", "server.max_header_bytes=2KiB"])
    try:
        d.wait_port()
        d.headers = {"Authorization": "Bearer s3cret"}
        d.wait_ready()
        status, headers, _ = d.request("GET", "/metrics")
        check(status == 401 and headers.get("www-authenticate", "").startswith("Bearer"), "401 without token", status)
        status, _, _ = d.request("GET", "/metrics", headers={"Authorization": "Bearer nope"})
        check(status == 401, "401 with a wrong token", status)
        status, headers, body = d.request("GET", "/metrics", headers=d.headers)
        check(status == 200 and "node_cpu_seconds_total" in body, "200 with the token", status)
        check(headers.get("content-type", "").startswith("text/plain; version=0.0.4"), "Prometheus text by default")
        status, headers, body = d.request("GET", "/metrics", headers=dict(d.headers, Accept="application/openmetrics-text; version=1.0.0"))
        check(status == 200 and headers.get("content-type", "").startswith("application/openmetrics-text")
              and body.rstrip().endswith("# EOF"), "OpenMetrics by Accept")
        status, _, body = d.request("GET", "/healthz")
        check(status == 200, "/healthz needs no token", status)

        status, headers, body = d.request("GET", "/no/such/path", headers=d.headers)
        err = json.loads(body)
        check(status == 404 and err["error"]["code"] == 404 and headers["content-type"] == "application/json",
              "404 JSON error", body)
        status, headers, body = d.request("DELETE", "/metrics", headers=d.headers)
        check(status == 405 and "GET" in headers.get("allow", "") and json.loads(body)["error"]["code"] == 405,
              "405 with Allow", body)
        status, _, body = d.request("POST", "/metrics", body=b"x" * 4096, headers=d.headers)
        check(status == 405, "a body sent to a GET-only route gets 405 (not read)", status)

        # 413: a body over server.max_body_bytes (1 KiB here) is refused from its
        # Content-Length, before it is read, with the JSON error shape.
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        s.sendall(b"GET /api/v1/metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\n"
                  b"Content-Length: 2000000\r\n\r\n")
        reply = s.recv(4096).decode(errors="replace")
        s.close()
        check(reply.startswith("HTTP/1.1 413") and '"code":413' in reply and "exceeds the limit" in reply,
              "413 JSON for an oversized body", reply[:300])
        # 400 with a message for malformed input to an API route.
        status, headers, body = d.request("GET", "/api/v1/traces/not-a-trace-id", headers=d.headers)
        check(status == 400 and headers["content-type"] == "application/json"
              and "trace id" in json.loads(body)["error"]["message"], "400 JSON for a malformed trace id", body)
        # The raw protocol errors: 400 for garbage, 431 for an oversized head.
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        reply = s.recv(4096).decode(errors="replace")
        s.close()
        check(reply.startswith("HTTP/1.1 400") and '"code":400' in reply, "400 JSON for malformed HTTP", reply[:200])
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4096 + b"\r\n\r\n")
        reply = s.recv(4096).decode(errors="replace")
        s.close()
        check(reply.startswith("HTTP/1.1 431"), "431 for an oversized head", reply[:200])

        status, _, body = d.request("GET", "/api/v1/status", headers=d.headers)
        st = json.loads(body)
        check(st["listeners"]["http"] == "127.0.0.1:%d" % d.port, "status shows the bound port", st["listeners"])
        check(st["config"]["auth"] is True and len(st["config"]["digest"]) == 16, "status shows auth and digest")
        check(any(c["name"] == "host" and c["state"] == "running" for c in st["components"]), "status lists components")
        status, _, body = d.request("GET", "/api/v1/metrics?name=strobe_http", headers=d.headers)
        names = [m["name"] for m in json.loads(body)["metrics"]]
        check(status == 200 and ("strobe_http_requests" in names or
                                 "strobe_http_requests_total" in names) and
              all(n.startswith("strobe_http") for n in names),
              "JSON metrics filtered by name", names)
        status, _, body = d.request("GET", "/metrics", headers=d.headers)
        check('strobe_http_rejected_requests_total{listener="http",reason="unauthorized"} 2' in body,
              "unauthorized requests are counted")
    finally:
        d.stop()


def test_graceful_shutdown_and_reload():
    cfg = "host:\n  interval: 1s\nshutdown:\n  grace_period: 10s\n"
    d = Daemon(STROBE, config_text=cfg, args=["--demo"])
    try:
        d.wait_port()
        d.wait_ready()
        # SIGHUP with a changed reloadable key and a restart-only key.
        with open(d.config_path, "w") as f:
            f.write(cfg.replace("1s", "500ms") + "server:\n  threads: 2\n")
        d.signal(signal.SIGHUP)
        deadline = time.time() + 10
        st = {}
        while time.time() < deadline:
            st = json.loads(d.request("GET", "/api/v1/status")[2])
            if st["config"]["reloads_ok"] >= 1:
                break
            time.sleep(0.05)
        check(st["config"]["reloads_ok"] == 1, "SIGHUP reloads", st.get("config"))
        host = [c for c in st["components"] if c["name"] == "host"][0]
        check(host["details"]["interval_ms"] == 500, "reloadable key applied", host)
        check("'server.threads' changed but needs a restart" in d.read_log(), "restart-only key reported")
        # A broken file on SIGHUP keeps the running configuration.
        with open(d.config_path, "w") as f:
            f.write("host:\n  intervl: 1s\n")
        digest = st["config"]["digest"]
        d.signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline:
            st = json.loads(d.request("GET", "/api/v1/status")[2])
            if st["config"]["reloads_failed"] >= 1:
                break
            time.sleep(0.05)
        check(st["config"]["reloads_failed"] == 1 and st["config"]["reloads_ok"] == 1,
              "bad reload is counted as failed", st.get("config"))
        check(st["config"]["last_reload"].startswith("error: ") and "intervl" in st["config"]["last_reload"],
              "status names the bad key", st["config"].get("last_reload"))
        host = [c for c in st["components"] if c["name"] == "host"][0]
        check(st["config"]["digest"] == digest and host["details"]["interval_ms"] == 500,
              "bad reload keeps the running configuration", (st["config"], host))
        check("reload failed, keeping the running configuration" in d.read_log(), "bad reload is logged")

        # A second instance on the same port fails clearly (exit 1).
        r = subprocess.run([STROBE, "serve", "--http", "127.0.0.1:%d" % d.port, "--otlp-http", "off",
                            "--otlp-grpc", "off", "--wire", "off", "--set", "host.enabled=false"],
                           capture_output=True, text=True, timeout=20)
        check(r.returncode == 1 and "already in use" in r.stderr and "another strobe serve" in r.stderr,
              "second instance fails clearly", r.stderr)

        # A request whose head is in but whose body is still arriving completes across SIGTERM.
        # "Expect: 100-continue": the server's interim 100 answer says it has read the head and
        # waits for the body (a signal, not a sleep).
        s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        interim = b""
        while b"\r\n\r\n" not in interim:
            chunk = s.recv(1)  # byte by byte: nothing of the final answer is read here
            if not chunk:
                break
            interim += chunk
        check(interim == b"HTTP/1.1 100 Continue\r\n\r\n", "head read, body awaited", interim)
        s.sendall(b"ab")
        # An idle keep-alive connection: one request answered, so the server has accepted it
        # (a connection still in the listen backlog when the listener closes gets a reset).
        idle = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first:
            chunk = idle.recv(65536)
            if not chunk:
                break
            first += chunk
        head, _, body = first.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        while len(body) < length:
            chunk = idle.recv(65536)
            if not chunk:
                break
            body += chunk
        check(head.startswith(b"HTTP/1.1 200") and len(body) == length,
              "idle connection served once", first[:80])
        start = time.time()
        d.signal(signal.SIGTERM)
        d.poll(lambda: "received SIGTERM, draining" in d.read_log(), "the daemon draining", timeout=10)
        s.sendall(b"cde")
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
        s.close()
        check(reply.startswith(b"HTTP/1.1 200") and b"Connection: close" in reply,
              "in-flight request completes during drain", reply[:120])
        check(idle.recv(1) == b"", "idle keep-alive connection closed by the drain")
        idle.close()
        code = d.wait_exit(20)
        check(code == 0, "exit 0 after SIGTERM", code)
        check(time.time() - start < 10, "drained well within the grace period")
        check("received SIGTERM" in d.read_log() and "stopped" in d.read_log(), "shutdown logged")
    finally:
        d.stop()


def test_sigint():
    d = Daemon(STROBE, args=["--set", "host.enabled=false"])
    try:
        d.wait_port()
        d.wait_ready()
        d.signal(signal.SIGINT)
        check(d.wait_exit(15) == 0, "SIGINT exits 0")
    finally:
        d.stop()


def test_demo_feeds_the_builtin_pipeline():
    """`strobe serve --demo` with no config file: the built-in pipeline carries the demo's
    spans and OTLP requests to trace analysis and the stream processor."""
    d = Daemon(STROBE, args=["--demo", "--set", "demo.rate=400", "--set", "host.enabled=false"],
               otlp_http="127.0.0.1:0")
    try:
        d.wait_port()
        d.wait_ready()
        status = d.get_json("/api/v1/status")
        otlp = status["listeners"].get("otlp_http", "")
        check(re.fullmatch(r"127\.0\.0\.1:\d+", otlp) is not None, "otlp_http listener reported", otlp)

        def edges():
            g = d.get_json("/api/v1/service-graph")
            got = {(e["client"], e["server"]): e for e in g["edges"]}
            want = [("frontend", s) for s in ("checkout", "catalog", "auth")]
            return got if all(k in got and got[k]["calls"] > 0 for k in want) else None
        got = d.poll(edges, "service-graph edges frontend -> checkout, catalog, auth")
        check(set(got) == {("frontend", "checkout"), ("frontend", "catalog"), ("frontend", "auth")},
              "exactly the demo's three edges", sorted(got))

        # A trace sent over OTLP/HTTP JSON reaches trace analysis through the same pipeline.
        trace_id = "5b8efff798038103d269b633813fc60c"
        body = json.dumps({"resourceSpans": [
            {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "web"}}]},
             "scopeSpans": [{"spans": [
                 {"traceId": trace_id, "spanId": "eee19b7ec3c1b174", "name": "GET /",
                  "kind": 2, "startTimeUnixNano": "1700000000000000000",
                  "endTimeUnixNano": "1700000000050000000"}]}]},
            {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "db"}}]},
             "scopeSpans": [{"spans": [
                 {"traceId": trace_id, "spanId": "eee19b7ec3c1b175", "parentSpanId": "eee19b7ec3c1b174",
                  "name": "SELECT", "kind": 2, "startTimeUnixNano": "1700000000010000000",
                  "endTimeUnixNano": "1700000000040000000", "status": {"code": 2}}]}]}]})
        host, port = otlp.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("POST", "/v1/traces", body=body, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        conn.close()
        check(r.status == 200, "OTLP/HTTP JSON accepted", r.status)

        def trace():
            st, _, b = d.request("GET", "/api/v1/traces/" + trace_id)
            return json.loads(b) if st == 200 and json.loads(b).get("spanCount") == 2 else None
        t = d.poll(trace, "the OTLP trace in /api/v1/traces/{id}")
        check(t["errorSpans"] == 1, "error span counted", t)
        check(t["durationNs"] == 50_000_000, "trace duration", t["durationNs"])

        # Window results of the demo's built-in stream rules (10 s tumbling windows).
        def p99_series():
            s = d.get_json("/api/v1/stream/series")["series"]
            return [x for x in s if x["window"] == "demo_http" and x["name"] == "p99"]
        series = d.poll(p99_series, "p99 window results of demo_http", timeout=40)
        services = {x["labels"]["service.name"] for x in series}
        check(services >= {"frontend", "checkout", "catalog", "auth"}, "p99 per demo service", services)
        check(all(x["value"] > 0 for x in series), "p99 values positive")

        status = d.get_json("/api/v1/status")
        comps = {c["name"]: c.get("details", {}) for c in status["components"]}
        check(comps["demo"]["spans_pushed"] > 0 and comps["demo"]["spans_dropped"] == 0,
              "demo spans pushed, none dropped", comps["demo"])
        pipes = comps["pipelines"]["pipelines"]
        check(len(pipes) == 1 and pipes[0]["name"] == "default" and pipes[0]["dropped"] == 0,
              "one default pipeline, nothing dropped", pipes)
        _, _, text = d.request("GET", "/metrics")
        check('strobe_receiver_accepted_spans_total{receiver="otlp_http"} 2' in text,
              "receiver counted the two OTLP spans")
    finally:
        d.stop()


def main():
    for t in (test_config_errors, test_auth_and_errors, test_graceful_shutdown_and_reload, test_sigint,
              test_demo_feeds_the_builtin_pipeline):
        t0 = time.time()
        try:
            t()
        except Exception as e:  # a helper raised: report and go on
            print("FAIL:", t.__name__, "raised", repr(e))
            failures.append(t.__name__)
        print("-- %s %.1fs" % (t.__name__, time.time() - t0))
    if failures:
        print("%d check(s) failed: %s" % (len(failures), ", ".join(failures)))
        sys.exit(1)
    print("all daemon checks passed")


if __name__ == "__main__":
    main()
