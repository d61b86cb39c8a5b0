#!/usr/bin/python3
"""End-to-end ClickHouse export benchmark: `strobe bench otlp` → `strobe serve` (otlp_http →
batch → exporter) → Debian's clickhouse-server, on this machine.

For each mode, a fresh `strobe serve` runs the same pipeline with a different exporter:
  memory        baseline (same run): the memory exporter counts spans and keeps nothing
  rowbinary     clickhouse exporter, format RowBinary
  jsoneachrow   clickhouse exporter, format JSONEachRow
The load generator sends 1,000-span requests (6 attributes per span, 10-span traces) on
CONNECTIONS connections for DURATION seconds; the run then waits until every acknowledged span
is exported (the clickhouse modes: until `SELECT count()` equals the acknowledged spans). It
prints, per mode: spans acknowledged, wall seconds from first request to last span stored,
spans/s over that time, the daemon's CPU (user+sys from /proc) and spans per daemon CPU second
("per core"), and ClickHouse's CPU per million spans. Nothing acknowledged may be missing.

  bench/clickhouse/run.py BUILD_DIR [DURATION_S] [CONNECTIONS] [REPEATS]
  bench/clickhouse/run.py build/release 10 2 3
  BATCH=50000 bench/clickhouse/run.py ...   # batch processor send_batch_size (default 10000)
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "clickhouse"))
from clickhouse_proc import ClickHouse  # noqa: E402

BUILD = sys.argv[1]
DURATION = float(sys.argv[2]) if len(sys.argv) > 2 else 10
CONNECTIONS = int(sys.argv[3]) if len(sys.argv) > 3 else 2
REPEATS = int(sys.argv[4]) if len(sys.argv) > 4 else 1
BATCH = int(os.environ.get("BATCH", "10000"))  # the batch processor's send_batch_size
STROBE = os.path.join(BUILD, "bin", "strobe")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def config(exporter):
    return """
receivers:
  otlp_http: {endpoint: "127.0.0.1:0", threads: 2}
processors:
  batch: {send_batch_size: %d, timeout: 200ms}
exporters:
%s
service:
  pipelines:
    traces:
      receivers: [otlp_http]
      processors: [batch]
      exporters: [%s]
""" % (BATCH, exporter, exporter.split(":")[0].strip())


def scrape(api, name, **labels):
    with urllib.request.urlopen("http://%s/metrics" % api, timeout=10) as r:
        text = r.read().decode()
    total = 0.0
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)", line)
        if m and m.group(1) == name and all('%s="%s"' % kv in (m.group(2) or "") for kv in labels.items()):
            total += float(m.group(3))
    return total


def run_mode(mode, ch, db):
    if mode == "memory":
        exporter = "  memory: {}"
    else:
        fmt = "RowBinary" if mode == "rowbinary" else "JSONEachRow"
        exporter = "  clickhouse: {endpoint: \"%s\", database: %s, format: %s}" % (ch.endpoint, db, fmt)
    tmp = tempfile.mkdtemp(prefix="strobe-chbench-")
    cfg = os.path.join(tmp, "strobe.yaml")
    with open(cfg, "w") as f:
        f.write(config(exporter))
    log = open(os.path.join(tmp, "strobe.log"), "w+")
    env = dict(os.environ)
    env.pop("STROBE_TOKEN", None)
    env["STROBE_SHM_DIR"] = os.path.join(tmp, "shm")  # never the default ring name
    os.mkdir(env["STROBE_SHM_DIR"], 0o700)
    proc = subprocess.Popen([STROBE, "serve", "--http", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0",
                             "--otlp-grpc", "off", "--wire", "off", "--data-dir", os.path.join(tmp, "data"),
                             "--config", cfg, "--set", "host.enabled=false"],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.time() + 30
        otlp = api = None
        while time.time() < deadline and not (otlp and api):
            log.seek(0)
            text = log.read()
            m = re.search(r"otlp_http listening on ([0-9.]+:[0-9]+)", text)
            a = re.search(r"listening on http://(127\.0\.0\.1:\d+)", text)
            if m and a and " ready " in text:
                otlp, api = m.group(1), a.group(1)
            time.sleep(0.05)
        assert otlp and api, text
        table = "`%s`.`spans`" % db
        c0, ch0, t0 = cpu_seconds(proc.pid), cpu_seconds(ch.proc.pid), time.time()
        out = subprocess.run([STROBE, "bench", "otlp", "--url", "http://" + otlp, "--connections",
                              str(CONNECTIONS), "--duration", str(DURATION), "--json"],
                             capture_output=True, text=True).stdout  # exit 1 on any non-200
        j = json.loads(out)
        acked = j["status_codes"].get("200", 0) * j["spans_per_request"]
        assert acked > 0, (j, log.seek(0) or log.read()[-2000:])
        deadline = time.time() + 120
        while time.time() < deadline:
            if mode == "memory":
                done = scrape(api, "strobe_pipeline_forwarded_events_total", stage="exporter/memory")
            else:
                done = int(ch.ok("SELECT count() FROM " + table))
            if done >= acked:
                break
            time.sleep(0.05)
        t1, c1, ch1 = time.time(), cpu_seconds(proc.pid), cpu_seconds(ch.proc.pid)
        dropped = scrape(api, "strobe_pipeline_dropped_events_total")
        assert done == acked, (mode, "stored", done, "acknowledged", acked)
        assert dropped == 0, (mode, "dropped", dropped)
        wall, cpu, chcpu = t1 - t0, c1 - c0, ch1 - ch0
        return {"mode": mode, "acked": acked, "wall": wall, "spans_per_s": acked / wall,
                "cpu": cpu, "per_core": acked / cpu if cpu > 0 else 0,
                "ch_cpu_per_m": chcpu / acked * 1e6, "codes": j["status_codes"]}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def main():
    print("nproc %d, load average %s, duration %.0f s, %d connections, 1,000-span requests, "
          "batches of %d" % (os.cpu_count(), open("/proc/loadavg").read().split()[:3], DURATION,
                             CONNECTIONS, BATCH))
    print("| run | mode | spans acked | wall s | spans/s | strobe CPU s | spans per strobe CPU s | "
          "ClickHouse CPU s per M spans | status codes |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with ClickHouse() as ch:
        for r in range(REPEATS):
            for i, mode in enumerate(("memory", "rowbinary", "jsoneachrow")):
                db = "bench_%d_%d" % (r, i)
                x = run_mode(mode, ch, db)
                codes = " ".join("%s=%s" % kv for kv in x["codes"].items())
                print("| %d | %s | %d | %.1f | %.0f | %.1f | %.0f | %.1f | %s |" % (
                    r + 1, mode, x["acked"], x["wall"], x["spans_per_s"], x["cpu"], x["per_core"],
                    x["ch_cpu_per_m"] if mode != "memory" else 0, codes), flush=True)
                if mode != "memory":
                    ch.ok("DROP DATABASE `%s`" % db)


if __name__ == "__main__":
    main()
