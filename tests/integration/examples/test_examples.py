#!/usr/bin/python3
"""examples/prometheus and examples/grafana against the real tools (issue 17).

1. `promtool check config` (which also checks the rule files it names) and `promtool check
   rules` pass on examples/prometheus.
2. examples/grafana: Grafana is not installed (not a Debian package), so the dashboard JSON and
   the provisioning files are checked structurally: unique panel ids, grid positions inside the
   24 columns and not overlapping, unique refIds per panel, every datasource the provisioned uid,
   a `job` variable, the provider's folder and path.
3. A real Prometheus runs the example config (its target replaced by the test's `strobe serve
   --demo`, intervals by 1 s) and every expression must return data: each recording rule's,
   the left-hand side of each alert (`<expr> <op> <number>` is required), and each dashboard
   query with `$job` = strobe and `$__rate_interval` = 1m. The recorded series themselves must
   appear too (Prometheus evaluated the rule files). The rules are read back from Prometheus'
   /api/v1/rules (its own parse of the file; no YAML module needed).

Usage: test_examples.py path/to/strobe path/to/examples"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
from strobe_proc import Daemon, peer_missing, stop_process  # noqa: E402

STROBE, EXAMPLES = sys.argv[1], sys.argv[2]
PROM_DIR = os.path.join(EXAMPLES, "prometheus")
GRAFANA_DIR = os.path.join(EXAMPLES, "grafana")
DEADLINE_S = 60
DATASOURCE_UID = "strobe-prometheus"
ALERT_FORM = re.compile(r"^(?P<lhs>.+?)\s*(==|!=|>=|<=|>|<)\s*-?[0-9.]+$", re.S)

failures = []


def fail(msg):
    print("FAIL: " + msg, flush=True)
    failures.append(msg)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def query(prom_port, expr):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (prom_port, urllib.parse.urlencode({"query": expr}))
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            data = json.loads(r.read().decode())
    except OSError as e:  # includes HTTP 400 for a bad expression
        return None, str(e)
    if data.get("status") != "success":
        return None, data.get("error", "?")
    return data["data"]["result"], None


def check_promtool():
    for args in (["check", "config", os.path.join(PROM_DIR, "prometheus.yml")],
                 ["check", "rules", os.path.join(PROM_DIR, "strobe_rules.yml")]):
        r = subprocess.run(["promtool"] + args, capture_output=True, text=True, timeout=30)
        print("promtool %s: exit %d\n%s%s" % (" ".join(args[:2]), r.returncode, r.stdout, r.stderr))
        if r.returncode != 0:
            fail("promtool %s failed" % " ".join(args[:2]))


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read().decode())


def rule_expressions(prom_port):
    """(what, expression, recorded name or None) of every rule Prometheus loaded from the
    example; alerts by their left side. Polls until both groups are loaded."""
    deadline = time.time() + 20
    groups = []
    while time.time() < deadline:
        try:
            groups = get_json("http://127.0.0.1:%d/api/v1/rules" % prom_port)["data"]["groups"]
        except OSError:
            groups = []
        if len(groups) == 2:
            break
        time.sleep(0.2)
    out = []
    for group in groups:
        for rule in group["rules"]:
            expr = " ".join(rule["query"].split())
            if rule["type"] == "recording":
                out.append(("record " + rule["name"], expr, rule["name"]))
            else:
                m = ALERT_FORM.match(expr)
                if not m:
                    fail("alert %s: expression is not `<expr> <op> <number>`: %s" % (rule["name"], expr))
                    continue
                out.append(("alert " + rule["name"], m.group("lhs"), None))
    return out


def yaml_values(path, key):
    """The values of `key:` lines of a small YAML file (the provisioning files are flat)."""
    with open(path) as f:
        return [m.group(1).strip() for m in re.finditer(r"^\s*-?\s*%s:\s*(\S.*)$" % key, f.read(), re.M)]


def check_grafana():
    """Structural checks; returns (panel title, refId, expression) of every query."""
    with open(os.path.join(GRAFANA_DIR, "dashboards", "strobe-overview.json")) as f:
        dash = json.load(f)
    ds = os.path.join(GRAFANA_DIR, "provisioning", "datasources", "strobe.yml")
    prov = os.path.join(GRAFANA_DIR, "provisioning", "dashboards", "strobe.yml")
    if yaml_values(ds, "apiVersion") != ["1"] or yaml_values(ds, "uid") != [DATASOURCE_UID] \
            or yaml_values(ds, "type") != ["prometheus"]:
        fail("datasource provisioning: want one prometheus datasource with uid %s" % DATASOURCE_UID)
    if yaml_values(prov, "apiVersion") != ["1"] or yaml_values(prov, "type") != ["file"] \
            or len(yaml_values(prov, "path")) != 1:
        fail("dashboard provisioning: want one file provider with options.path")
    for key in ("uid", "title", "schemaVersion", "panels", "templating", "time"):
        if key not in dash:
            fail("dashboard lacks %s" % key)
    variables = [v["name"] for v in dash["templating"]["list"]]
    if variables != ["job"]:
        fail("dashboard variables %s, want ['job']" % variables)
    ids = [p["id"] for p in dash["panels"]]
    if len(set(ids)) != len(ids):
        fail("duplicate panel ids %s" % ids)
    cells = {}
    queries = []
    for p in dash["panels"]:
        g = p["gridPos"]
        if g["x"] < 0 or g["w"] <= 0 or g["h"] <= 0 or g["x"] + g["w"] > 24:
            fail("panel %r: gridPos %s outside the 24 columns" % (p["title"], g))
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    fail("panels %r and %r overlap at %s" % (cells[(x, y)], p["title"], (x, y)))
                cells[(x, y)] = p["title"]
        if p["type"] not in ("stat", "timeseries", "table", "gauge", "bargauge"):
            fail("panel %r: unexpected type %s" % (p["title"], p["type"]))
        refs = [t["refId"] for t in p["targets"]]
        if not refs or len(set(refs)) != len(refs):
            fail("panel %r: refIds %s" % (p["title"], refs))
        for src in [p.get("datasource")] + [t.get("datasource") for t in p["targets"]]:
            if src != {"type": "prometheus", "uid": DATASOURCE_UID}:
                fail("panel %r: datasource %s" % (p["title"], src))
        for t in p["targets"]:
            queries.append((p["title"], t["refId"], t["expr"]))
    print("grafana: %d panels, %d queries, structure %s" % (len(ids), len(queries), "ok" if not failures else "FAILED"))
    return queries


def grafana_to_promql(expr):
    return expr.replace("$__rate_interval", "1m").replace("$job", "strobe")


def main():
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            peer_missing("the %s binary (Debian package prometheus, scripts/packages.txt)" % tool)
    check_promtool()
    dashboard = check_grafana()

    tmp = tempfile.mkdtemp(prefix="strobe-examples-")
    daemon = Daemon(STROBE, args=["--demo"])
    prom = None
    try:
        port = daemon.wait_port()
        prom_port = free_port()
        with open(os.path.join(PROM_DIR, "prometheus.yml")) as f:
            cfg = f.read()
        for old, new in (("127.0.0.1:9800", "127.0.0.1:%d" % port), ("interval: 15s", "interval: 1s")):
            if old not in cfg:
                fail("examples/prometheus/prometheus.yml no longer holds %r" % old)
            cfg = cfg.replace(old, new)
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            f.write(cfg)
        shutil.copy(os.path.join(PROM_DIR, "strobe_rules.yml"), tmp)
        prom_log = open(os.path.join(tmp, "prometheus.log"), "w")
        prom = subprocess.Popen(["prometheus", "--config.file=" + os.path.join(tmp, "prometheus.yml"),
                                 "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                                 "--web.listen-address=127.0.0.1:%d" % prom_port],
                                stdout=prom_log, stderr=subprocess.STDOUT)
        exprs = rule_expressions(prom_port)
        if len([e for e in exprs if e[2]]) != 8 or len([e for e in exprs if not e[2]]) != 8 or len(dashboard) != 24:
            fail("rules or queries missing: %d rules loaded (want 8 recording, 8 alerting), %d queries (want 24)"
                 % (len(exprs), len(dashboard)))
        pending = {("rule", what): expr for what, expr, _ in exprs}
        pending.update({("grafana", "%s / %s" % (title, ref)): grafana_to_promql(e) for title, ref, e in dashboard})
        pending.update({("recorded", name): name for _, _, name in exprs if name})
        errors = {}
        deadline = time.time() + DEADLINE_S
        while pending and time.time() < deadline and prom.poll() is None:
            for key, expr in list(pending.items()):
                result, err = query(prom_port, expr)
                if err:
                    errors[key] = err
                    continue
                errors.pop(key, None)  # answered, so far without data
                if result:
                    del pending[key]
            time.sleep(0.5)
        checked = len(exprs) + len(dashboard) + len([e for e in exprs if e[2]])
        for key, expr in sorted(pending.items()):
            fail("%s %s: no data for %s%s" % (key[0], key[1], expr, " (" + errors[key] + ")" if key in errors else ""))
        print("prometheus: %d of %d expressions returned data" % (checked - len(pending), checked))
        if failures:
            print("--- strobe log ---\n" + daemon.read_log()[-2000:])
            with open(os.path.join(tmp, "prometheus.log")) as f:
                print("--- prometheus log ---\n" + f.read()[-2000:])
    finally:
        stop_process(prom)
        daemon.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(daemon.tmp, ignore_errors=True)
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("ok: examples/prometheus and examples/grafana")


if __name__ == "__main__":
    main()
