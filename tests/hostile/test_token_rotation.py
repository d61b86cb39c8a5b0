"""Hole 8: token rotation. A token changed by SIGHUP reached the API but not the OTLP receiver
(which copied the token into its own options at start): the revoked token kept working on the
OTLP port, the new one was refused there, and a token added by SIGHUP left OTLP open. Now one
Authenticator serves every listener and a reload swaps its tokens atomically; auth.token_file is
re-read on every SIGHUP, must not be readable by group or others, and a failed re-read keeps the
old token (counted), never opening a listener."""

import json
import os
import signal
import http.client

from hostile import assert_serving, metric

REFUSED = "strobe_http_rejected_requests_total"
ACCEPTED = "strobe_receiver_accepted_spans_total"


def span_body(n):
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "rot"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc6%02x" % n, "spanId": "eee19b7ec3c1b1%02x" % n,
            "name": "span-%d" % n, "kind": 2, "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000000050000000"}]}]}]})


class Client:
    """Both listeners of one daemon, each asked with a given token (None: no header)."""

    def __init__(self, d):
        self.d = d
        host, port = d.wait_otlp().split(":")
        self.otlp = (host, int(port))
        self.sent = 0

    def api(self, token):
        headers = {} if token is None else {"Authorization": "Bearer " + token}
        status, _, _ = self.d.request("GET", "/api/v1/status", headers=headers)
        return status

    def otlp_post(self, token):
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        self.sent += 1
        conn = http.client.HTTPConnection(*self.otlp, timeout=10)
        try:
            conn.request("POST", "/v1/traces", body=span_body(self.sent), headers=headers)
            r = conn.getresponse()
            r.read()
            return r.status
        finally:
            conn.close()

    def expect(self, token, status, why):
        got = (self.api(token), self.otlp_post(token))
        assert got == (status, status), "%s: (API, OTLP) answered %s, want %s\n%s" % (
            why, got, (status, status), self.d.read_log()[-2000:])


def counts(d):
    return (metric(d, REFUSED, listener="http", reason="unauthorized"),
            metric(d, REFUSED, listener="otlp_http", reason="unauthorized"),
            metric(d, ACCEPTED, receiver="otlp_http"))


def reloads_seen(d):
    log = d.read_log()
    return log.count("configuration reloaded") + log.count("reload failed")


def sighup(d, config_text=None):
    """Rewrites the configuration (when given), sends SIGHUP and waits until the daemon logged
    the outcome of that reload."""
    if config_text is not None:
        with open(d.config_path, "w") as f:
            f.write(config_text)
    seen = reloads_seen(d)
    d.signal(signal.SIGHUP)
    d.poll(lambda: reloads_seen(d) > seen, "the reload to finish", timeout=15)


def start(daemon, config_text, token):
    d = daemon(config_text=config_text, otlp_http="127.0.0.1:0", ready=False)
    d.headers = {"Authorization": "Bearer " + token} if token else {}
    d.wait_port()
    d.wait_ready()
    return d, Client(d)


def test_rotated_token_reaches_api_and_otlp(daemon):
    d, c = start(daemon, "auth:\n  token: token-A\n", "token-A")
    before = counts(d)
    c.expect("token-A", 200, "token A at start")
    c.expect("token-B", 401, "token B before the rotation")

    sighup(d, "auth:\n  token: token-B\n")
    d.headers = {"Authorization": "Bearer token-B"}
    c.expect("token-B", 200, "the new token after SIGHUP (d11632b: OTLP refused it)")
    c.expect("token-A", 401, "the revoked token after SIGHUP (d11632b: OTLP still took it)")

    after = counts(d)
    assert after[0] - before[0] == 2, (before, after)  # B before, A after, on the API
    assert after[1] - before[1] == 2, (before, after)  # the same two on OTLP
    assert after[2] - before[2] == 2, (before, after)  # A's and B's spans, nothing else
    assert "auth tokens rotated on every HTTP listener" in d.read_log()
    assert_serving(d)


def test_removed_token_opens_every_listener(daemon):
    d, c = start(daemon, "auth:\n  token: token-A\n", "token-A")
    before = counts(d)
    c.expect(None, 401, "no token while token A is required")

    sighup(d, "log:\n  level: info\n")
    d.headers = {}
    c.expect(None, 200, "no token after the token was removed (d11632b: OTLP kept token A)")
    assert "auth is OFF" in d.read_log()
    after = counts(d)
    assert after[0] - before[0] == 1, (before, after)
    assert after[1] - before[1] == 1, (before, after)
    assert after[2] - before[2] == 1, (before, after)
    assert_serving(d)


def test_token_added_by_sighup_closes_every_listener(daemon):
    d, c = start(daemon, "log:\n  level: info\n", None)
    c.expect(None, 200, "no token while none is configured")

    before = counts(d)
    sighup(d, "auth:\n  token: token-C\n")
    d.headers = {"Authorization": "Bearer token-C"}
    c.expect(None, 401, "no token after token C was added by SIGHUP (d11632b: OTLP stayed open)")
    c.expect("token-C", 200, "token C after it was added")
    after = counts(d)
    assert after[0] - before[0] == 1, (before, after)
    assert after[1] - before[1] == 1, (before, after)
    assert after[2] - before[2] == 1, (before, after)
    assert "auth is ON" in d.read_log()
    assert_serving(d)


def test_token_file_is_checked_and_reread_on_sighup(daemon, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("file-1\n")
    os.chmod(token_file, 0o644)
    config = "auth:\n  token_file: %s\n" % token_file

    # Readable by others: refused at start, like ssh refuses such a key.
    bad = daemon(config_text=config, otlp_http="127.0.0.1:0", ready=False)
    assert bad.wait_exit() != 0
    log = bad.read_log()
    assert "auth.token_file %s: permissions 0644 are too open" % token_file in log, log[-2000:]
    assert "chmod 600" in log and "file-1" not in log, log[-2000:]

    os.chmod(token_file, 0o600)
    d, c = start(daemon, config, "file-1")
    c.expect("file-1", 200, "the token from the file")
    c.expect(None, 401, "no token")

    # Re-read on SIGHUP.
    token_file.write_text("file-2\n")
    sighup(d)
    d.headers = {"Authorization": "Bearer file-2"}
    c.expect("file-2", 200, "the rewritten token file after SIGHUP")
    c.expect("file-1", 401, "the token removed from the file")

    # A re-read that fails keeps the old token: nothing opens, the failure is counted.
    errors = (metric(d, "strobe_auth_reloads_total", result="error"),
              metric(d, "strobe_config_reloads_total", result="error"))
    token_file.write_text("file-3\n")
    os.chmod(token_file, 0o644)
    sighup(d)
    assert "permissions 0644 are too open" in d.read_log()
    c.expect("file-2", 200, "the previous token after a failed re-read")
    c.expect("file-3", 401, "the token of a file that was refused")
    c.expect(None, 401, "no token after a failed re-read (must never open)")
    assert metric(d, "strobe_auth_reloads_total", result="error") - errors[0] == 1
    assert metric(d, "strobe_config_reloads_total", result="error") - errors[1] == 1

    # Overlap: a file with two tokens accepts both while clients move.
    token_file.write_text("file-3\nfile-2\n")
    os.chmod(token_file, 0o600)
    sighup(d)
    c.expect("file-2", 200, "the old token during the overlap")
    c.expect("file-3", 200, "the new token during the overlap")

    # auth.token and auth.token_file together: a clear error, tokens kept.
    sighup(d, config + "  token: other\n")
    assert "auth.token and auth.token_file are both set" in d.read_log()
    c.expect("other", 401, "auth.token of a refused configuration")
    c.expect("file-3", 200, "the running token after a refused configuration")
    assert metric(d, "strobe_auth_enabled") == 1
    assert_serving(d)
