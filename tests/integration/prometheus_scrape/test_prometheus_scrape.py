#!/usr/bin/python3
"""Debian's Prometheus scrapes `strobe serve` every second; the test queries Prometheus' API
until `up == 1`, the host CPU metric and a self-metric are present with sane values.
Usage: test_prometheus_scrape.py path/to/strobe. Needs the `prometheus` package."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
from strobe_proc import Daemon, stop_process  # noqa: E402

STROBE = sys.argv[1]
DEADLINE_S = 45


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


def query(prom_port, expr):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (prom_port, urllib.parse.urlencode({"query": expr}))
    data = get_json(url)
    if data.get("status") != "success":
        return []
    return data["data"]["result"]


def main():
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        print("FAIL: the prometheus package is not installed (scripts/packages.txt)")
        sys.exit(1)
    tmp = tempfile.mkdtemp(prefix="strobe-prom-")
    daemon = Daemon(STROBE, env={"STROBE_TOKEN": "scrape-token"}, args=["--demo"])
    prom = None
    try:
        port = daemon.wait_port()
        prom_port = free_port()
        token_file = os.path.join(tmp, "token")
        with open(token_file, "w") as f:
            f.write("scrape-token")
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: strobe
    scrape_interval: 1s
    scrape_timeout: 900ms
    authorization:
      credentials_file: %s
    static_configs:
      - targets: ['127.0.0.1:%d']
""" % (token_file, port))
        prom_log = open(os.path.join(tmp, "prometheus.log"), "w")
        prom = subprocess.Popen([prometheus, "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                                 "--web.listen-address=127.0.0.1:%d" % prom_port],
                                stdout=prom_log, stderr=subprocess.STDOUT)
        deadline = time.time() + DEADLINE_S
        found = {}
        checks = {
            "up": "up{job=\"strobe\"} == 1",
            "cpu": "sum(node_cpu_seconds_total{job=\"strobe\",mode=\"idle\"})",
            "cpu_per_core": "count(count by (cpu) (node_cpu_seconds_total{job=\"strobe\"}))",
            "uptime": "strobe_uptime_seconds{job=\"strobe\"}",
            "rss": "process_resident_memory_bytes{job=\"strobe\"}",
            "http": "sum(strobe_http_requests_total{job=\"strobe\",code=\"2xx\"}) >= 1",
            "demo": "sum(demo_http_requests_total{job=\"strobe\"})",
        }
        while time.time() < deadline and len(found) < len(checks):
            for name, expr in checks.items():
                if name in found:
                    continue
                try:
                    result = query(prom_port, expr)
                except OSError:
                    result = []
                if result:
                    found[name] = float(result[0]["value"][1])
            if prom.poll() is not None:
                break
            time.sleep(0.25)
        failures = []
        for name in checks:
            if name not in found:
                failures.append("%s: no result for %s" % (name, checks[name]))
        if not failures:
            ncpu = os.cpu_count() or 1
            sane = [
                (found["up"] == 1, "up == 1"),
                (found["cpu"] > 0, "idle CPU seconds > 0"),
                (found["cpu_per_core"] == ncpu, "one series per core (%d)" % ncpu),
                (0 < found["uptime"] < 600, "strobe_uptime_seconds in (0, 600)"),
                (1e6 < found["rss"] < 500e6, "RSS between 1 MB and 500 MB"),
                (found["http"] >= 1, "Prometheus' own scrapes counted as 2xx"),
                (found["demo"] > 0, "demo requests counted"),
            ]
            for ok, what in sane:
                print(("ok: " if ok else "FAIL: ") + what, found)
                if not ok:
                    failures.append(what)
        if failures:
            print("\n".join("FAIL: " + f for f in failures))
            print("--- strobe log ---\n" + daemon.read_log()[-3000:])
            with open(os.path.join(tmp, "prometheus.log")) as f:
                print("--- prometheus log ---\n" + f.read()[-3000:])
            targets = get_json("http://127.0.0.1:%d/api/v1/targets" % prom_port) if prom.poll() is None else {}
            print("--- targets ---\n" + json.dumps(targets)[:2000])
            sys.exit(1)
        print("prometheus scraped strobe: %s" % found)
    finally:
        stop_process(prom)
        daemon.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(daemon.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
