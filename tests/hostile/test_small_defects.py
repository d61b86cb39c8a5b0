"""Hole 10, the smaller defects of issue 14 (one test per defect):

- a) `--config` naming a directory aborted (exit 134) and a SIGHUP after the config path became
  a directory killed the daemon. Now start refuses with a clear error and exit code 2 (like any
  config error); a failed reload keeps the running configuration, logs why and is counted in
  strobe_config_reloads_total{result="error"}. A FIFO must not block; an unreadable file is an
  error.
"""

import os
import signal
import subprocess
import tempfile

from hostile import assert_serving, metric


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
