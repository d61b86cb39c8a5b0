"""What every hostile test asserts, in one place: the daemon still serves, a counter moved,
RSS stayed within a bound. Every wait polls with a deadline."""

import http.client
import json
import os
import re
import socket
import time


def assert_serving(d):
    """The daemon is alive and answers /healthz with 200 on a fresh connection."""
    assert d.proc.poll() is None, "strobe exited (%s):\n%s" % (d.proc.returncode, d.read_log()[-3000:])
    status, _, _ = d.request("GET", "/healthz")
    assert status == 200, status


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)")


def metric(d, name, **labels):
    """The value of `name` in the daemon's /metrics whose labels include `labels` (summed over
    the series that match), or 0.0 when there is none."""
    status, _, body = d.request("GET", "/metrics", headers=d.auth_headers())
    assert status == 200, (status, body[:200])
    total = 0.0
    for line in body.splitlines():
        m = _SAMPLE.match(line)
        if not m or m.group(1) != name:
            continue
        text = m.group(2) or ""
        if all('%s="%s"' % (k, v) in text for k, v in labels.items()):
            total += float(m.group(3))
    return total


def wait_metric(d, name, at_least, timeout=15, **labels):
    """Polls until metric(d, name, **labels) >= at_least; returns the value."""
    return d.poll(lambda: (lambda v: v if v >= at_least else None)(metric(d, name, **labels)),
                  "%s%s >= %s" % (name, labels, at_least), timeout=timeout)


def rss_bytes(pid):
    """Resident set size of `pid` from /proc (VmRSS)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


def raw_exchange(port, data, timeout=5.0, host="127.0.0.1"):
    """Sends `data` on a new connection and returns everything the server sends back until it
    closes the connection or `timeout` passes (b"" if it sends nothing)."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


def status_of(reply):
    """The status code of a raw HTTP reply, or None when there is none."""
    m = re.match(rb"HTTP/1\.[01] (\d{3})", reply)
    return int(m.group(1)) if m else None


def otlp_json_gauge(port, name, value, labels=None, token=None, timeout=10.0):
    """POSTs one valid OTLP/HTTP JSON gauge point `name` = `value` (with `labels`, stamped now)
    to the OTLP receiver on `port`; returns the response status. The well-behaved client of
    the OTLP tests: its value must show up exactly on /metrics."""
    import http.client
    import json

    point = {"asDouble": float(value), "timeUnixNano": str(time.time_ns()),
             "attributes": [{"key": k, "value": {"stringValue": v}}
                            for k, v in (labels or {}).items()]}
    body = json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": name, "gauge": {"dataPoints": [point]}}]}]}]})
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/v1/metrics", body=body, headers=headers)
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


def listener_caught_up(port):
    """True when the TCP listener on `port` has accepted every pending connection and read
    every byte clients sent on it (/proc/net/tcp: the listening socket's accept queue and each
    accepted socket's receive queue are empty). Lets a test wait until the server has seen
    what it sent, without sleeping."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, state, queues = fields[1], fields[3], fields[4]
            if int(local.split(":")[1], 16) != port or state not in ("0A", "01"):
                continue
            if int(queues.split(":")[1], 16) != 0:
                return False
    return True


def wait_stopped(pid, timeout=10.0):
    """Waits until every thread of `pid` is stopped (state T after SIGSTOP): kill() returns before
    the threads actually stop, and a test that relies on the process not running must not race
    with a thread still finishing its work."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        states = []
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
            except FileNotFoundError:
                continue
        if states and all(st in ("T", "t") for st in states):
            return
        time.sleep(0.01)
    raise AssertionError("pid %d did not stop within %s s" % (pid, timeout))

def gauge_points(name, points, service):
    """An OTLP/JSON metrics request: gauge `name` with one data point per (labels, value)."""
    dps = [{"asInt": str(v), "timeUnixNano": "1700000000000000000",
            "attributes": [{"key": k, "value": {"stringValue": lv}} for k, lv in labels.items()]}
           for labels, v in points]
    return json.dumps({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeMetrics": [{"metrics": [{"name": name, "gauge": {"dataPoints": dps}}]}]}]})


def post(otlp, path, body, source):
    """POSTs an OTLP/JSON `body` to `path` on `otlp` ("host:port") from address `source`;
    returns (status, reply body)."""
    host, port = otlp.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=120, source_address=(source, 0))
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()
