"""Starts Debian's clickhouse-server (18.16) as a child process for tests and benchmarks: a
generated config on 127.0.0.1 with free ports, everything in a temp dir, readiness polled on
GET /ping with a deadline, stopped by PID. Also a tiny HTTP query helper."""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <timezone>UTC</timezone>
  <http_port>{http_port}</http_port>
  <tcp_port>{tcp_port}</tcp_port>
  <path>{dir}/data/</path>
  <tmp_path>{dir}/tmp/</tmp_path>
  <user_files_path>{dir}/user_files/</user_files_path>
  <format_schema_path>{dir}/format_schemas/</format_schema_path>
  <users_config>{dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
</yandex>
"""

USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <strobe>
      <password>{password}</password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </strobe>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def server_binary():
    return shutil.which("clickhouse-server") or (
        "/usr/sbin/clickhouse-server" if os.path.exists("/usr/sbin/clickhouse-server") else None)


class ClickHouse:
    """A clickhouse-server on 127.0.0.1 in its own temp dir. User `default` (no password) and
    user `strobe` with `password`. Use as a context manager or call stop()."""

    def __init__(self, password="strobe-pass", timeout=30):
        binary = server_binary()
        if binary is None:
            raise RuntimeError("clickhouse-server is not installed (scripts/packages.txt)")
        self.dir = tempfile.mkdtemp(prefix="strobe-ch-")
        self.http_port = free_port()
        self.tcp_port = free_port()
        self.password = password
        for d in ("data", "tmp", "user_files", "format_schemas"):
            os.mkdir(os.path.join(self.dir, d))
        cfg = os.path.join(self.dir, "config.xml")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(http_port=self.http_port, tcp_port=self.tcp_port, dir=self.dir))
        with open(os.path.join(self.dir, "users.xml"), "w") as f:
            f.write(USERS.format(password=password))
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen([binary, "--config-file=" + cfg], cwd=self.dir,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("clickhouse-server exited (%s):\n%s" % (self.proc.returncode,
                                                                          self.read_log()))
            try:
                with urllib.request.urlopen(self.url("/ping"), timeout=2) as r:
                    if r.read().strip() == b"Ok.":
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("clickhouse-server not ready in %ss" % timeout)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.http_port, path)

    @property
    def endpoint(self):
        return self.url("")

    def read_log(self):
        with open(os.path.join(self.dir, "server.log"), errors="replace") as f:
            return f.read()

    def query(self, sql, data=None, user="default", password=""):
        """Runs `sql` over HTTP; returns (status, body text)."""
        q = urllib.parse.urlencode({"query": sql})
        req = urllib.request.Request(self.url("/?" + q), data=data, method="POST",
                                     headers={"X-ClickHouse-User": user,
                                              "X-ClickHouse-Key": password})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def ok(self, sql, data=None):
        status, body = self.query(sql, data)
        if status != 200:
            raise AssertionError("%s -> %d %s" % (sql, status, body))
        return body

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
