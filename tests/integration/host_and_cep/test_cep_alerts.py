"""A CEP rule and an alert rule on its matches, end to end: OTLP points → `strobe serve`'s
stream engine → strobe_stream_cep_matches_total on /metrics and an alert that fires → the real
prometheus-alertmanager (Debian) → a webhook served by this test."""

import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest

from hostile import metric, otlp_json_gauge
from strobe_proc import stop_process

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Webhook:
    """Collects the JSON bodies POSTed to it (Alertmanager webhook payloads, version 4)."""

    def __init__(self):
        self.bodies = []
        self.lock = threading.Lock()
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with hook.lock:
                    hook.bodies.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def alerts(self):
        with self.lock:
            return [a for b in self.bodies for a in b.get("alerts", [])]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def alertmanager():
    if not os.access(ALERTMANAGER, os.X_OK):
        pytest.fail(ALERTMANAGER + " is not installed (Debian package prometheus-alertmanager)")
    hook = Webhook()
    tmp = tempfile.mkdtemp(prefix="strobe-am-")
    port = free_port()
    with open(os.path.join(tmp, "am.yml"), "w") as f:
        f.write("route:\n  receiver: test\n  group_by: ['alertname', 'user_id']\n"
                "  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n"
                "receivers:\n  - name: test\n    webhook_configs:\n"
                "      - url: http://127.0.0.1:%d/hook\n" % hook.port)
    log = open(os.path.join(tmp, "am.log"), "w")
    proc = subprocess.Popen([ALERTMANAGER, "--config.file=" + os.path.join(tmp, "am.yml"),
                             "--storage.path=" + os.path.join(tmp, "data"),
                             "--web.listen-address=127.0.0.1:%d" % port,
                             "--cluster.listen-address="], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 20
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % port, timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.time() < deadline, open(log.name).read()
            time.sleep(0.05)
        yield port, hook
    finally:
        stop_process(proc)
        log.close()
        hook.close()
        shutil.rmtree(tmp, ignore_errors=True)


CONFIG = """
stream:
  cep:
    - name: brute_force
      type: threshold
      match: {name: login_failed}
      count: 3
      within: 1m
      group_by: [user.id]
alerts:
  evaluation_interval: 1s
  rules:
    - alert: BruteForce
      expr: cep_matches(brute_force) > 0
      severity: critical
      annotations:
        summary: "{{ $value }} bursts for {{ $labels.user.id }}"
  notifiers:
    - type: alertmanager
      url: http://127.0.0.1:%d
      resend_interval: 1m
"""


def test_cep_matches_become_series_and_fire_an_alert(daemon, alertmanager):
    am_port, hook = alertmanager
    d = daemon(otlp_http="127.0.0.1:0", config_text=CONFIG % am_port)
    otlp = int(d.wait_otlp().rsplit(":", 1)[1])
    # alice: 7 failed logins within a minute → 2 matches (3 + 3; the 7th waits); bob: 3 → 1;
    # carol: 2 → none. Other names do not count.
    sends = ["alice"] * 7 + ["bob"] * 3 + ["carol"] * 2
    for user in sends:
        assert otlp_json_gauge(otlp, "login_failed", 1, {"user.id": user}) == 200
    assert otlp_json_gauge(otlp, "login_ok", 1, {"user.id": "carol"}) == 200

    name = "strobe_stream_cep_matches_total"
    d.poll(lambda: metric(d, name, rule="brute_force", user_id="alice") == 2
           and metric(d, name, rule="brute_force", user_id="bob") == 1,
           "alice 2 and bob 1 matches", timeout=20)
    assert metric(d, name, rule="brute_force", user_id="carol") == 0
    assert metric(d, name, rule="brute_force") == 3  # the sum over keys: no other series

    # strobe's own view: one firing instance per matching key.
    def firing():
        alerts = d.get_json("/api/v1/alerts")["alerts"]
        return sorted((a["labels"]["user.id"], a["value"]) for a in alerts
                      if a["name"] == "BruteForce" and a["state"] == "firing")
    assert d.poll(lambda: firing() == [("alice", 2), ("bob", 1)] and firing(),
                  "BruteForce firing for alice and bob", timeout=20)

    # Through Alertmanager to the webhook, with the key's label in Prometheus form.
    def delivered():
        got = {}
        for a in hook.alerts():
            if a["labels"].get("alertname") == "BruteForce" and a["status"] == "firing":
                got[a["labels"]["user_id"]] = a
        return got if set(got) == {"alice", "bob"} else None
    got = d.poll(delivered, "BruteForce for alice and bob at the webhook", timeout=30)
    assert got["alice"]["annotations"]["summary"] == "2 bursts for alice"
    assert got["bob"]["annotations"]["summary"] == "1 bursts for bob"
    assert got["alice"]["labels"]["window"] == "brute_force"
    assert got["alice"]["labels"]["severity"] == "critical"
    assert "carol" not in {a["labels"].get("user_id") for a in hook.alerts()}
