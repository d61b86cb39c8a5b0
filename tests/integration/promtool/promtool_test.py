#!/usr/bin/python3
"""Integration test: strobe::metrics exposition against real Prometheus tooling.

Starts examples/metrics_server (strobe_metrics_example) on a free 127.0.0.1 port and checks:
  1. Prometheus text 0.0.4 (no Accept header): `promtool check metrics` exits 0 (parse + lint).
  2. OpenMetrics 1.0 (Prometheus' Accept header): content type, `# EOF`, the strict
     OpenMetrics parser of python3-prometheus-client accepts it, `_created`, exemplars and
     units are present, and the label value with quotes, a backslash, a newline and UTF-8
     round-trips exactly. promtool only parses the 0.0.4 grammar, so it is also run on the
     OpenMetrics text with the OpenMetrics-only syntax (exemplars, `_created` samples)
     removed — everything else must pass unchanged.
  3. A real Prometheus server scrapes the program (negotiating OpenMetrics) and
     /api/v1/query returns the series with the exact escaped label value; exemplar storage
     returns the trace exemplars.
Every process is started here and stopped by PID; waits poll with deadlines.
"""
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

from prometheus_client.openmetrics.parser import text_string_to_metric_families

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
from strobe_proc import stop_process  # noqa: E402

ODD_PATH = '/q?name="x"\\y\nz/caf\u00e9'
OM_ACCEPT = ('application/openmetrics-text;version=1.0.0,application/openmetrics-text;'
             'version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1')


def fail(msg):
    print('FAIL: ' + msg, flush=True)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def get(url, accept=None, timeout=5):
    req = urllib.request.Request(url)
    if accept is not None:
        req.add_header('Accept', accept)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.headers.get('Content-Type'), r.read().decode('utf-8')


def wait_for(what, fn, deadline_s):
    deadline = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < deadline:
        try:
            value = fn()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        time.sleep(0.1)
    fail('timed out waiting for %s (last error: %r)' % (what, last))


def promtool_check(text, what, allowed_lint=None):
    """Exit 0 required; with `allowed_lint`, exit 3 (lint only, parse fine) is accepted when
    every reported problem matches that regular expression."""
    r = subprocess.run(['promtool', 'check', 'metrics'], input=text.encode(),
                       capture_output=True, timeout=30)
    problems = [p for p in (r.stdout + r.stderr).decode().split('\n') if p.strip()]
    if (r.returncode == 3 and allowed_lint is not None and problems and
            all(re.fullmatch(allowed_lint, p.strip()) for p in problems)):
        print('ok: promtool parses %s; lint notes only the 0.0.4/OpenMetrics counter naming '
              'difference (%d counters)' % (what, len(problems)))
        return
    if r.returncode != 0:
        fail('promtool check metrics (%s) exit %d: %s %s' %
             (what, r.returncode, r.stdout.decode(), r.stderr.decode()))
    print('ok: promtool check metrics accepts %s' % what)


def check_prometheus_text(base):
    status, ctype, text = get(base + '/metrics')
    if status != 200 or not ctype.startswith('text/plain; version=0.0.4'):
        fail('text format: status %s content type %s' % (status, ctype))
    promtool_check(text, 'Prometheus text 0.0.4')
    want = ('example_requests_total{method="GET",path="/q?name=\\"x\\"\\\\y\\nz/caf\u00e9",'
            'code="404"} ')
    if want not in text:
        fail('escaped label line missing from text format:\n' + text[:3000])
    for needle in ('# TYPE example_request_duration_seconds histogram',
                   'example_request_duration_seconds_bucket{le="+Inf"}',
                   'example_payload_bytes{quantile="0.999"}', '# TYPE example_requests_total counter'):
        if needle not in text:
            fail('missing %r in text format' % needle)


def check_openmetrics(base):
    status, ctype, text = get(base + '/metrics', OM_ACCEPT)
    if not ctype.startswith('application/openmetrics-text; version=1.0.0'):
        fail('OpenMetrics content type: %s' % ctype)
    if not text.endswith('# EOF\n'):
        fail('OpenMetrics output does not end with # EOF')
    families = {f.name: f for f in text_string_to_metric_families(text)}
    req = families.get('example_requests')
    if req is None or req.type != 'counter':
        fail('example_requests counter missing: %s' % sorted(families))
    paths = {s.labels['path'] for s in req.samples}
    if ODD_PATH not in paths:
        fail('label value did not round-trip: %r' % paths)
    if not any(s.name == 'example_requests_created' for s in req.samples):
        fail('no _created sample')
    lat = families['example_request_duration_seconds']
    if lat.type != 'histogram' or lat.unit != 'seconds':
        fail('histogram type/unit: %s %s' % (lat.type, lat.unit))
    if families['example_payload_bytes'].type != 'summary':
        fail('payload summary missing')
    print('ok: OpenMetrics parser accepts %d families' % len(families))

    # Exemplars appear once a sampled request happened (1 in 1000).
    def has_exemplar():
        _, _, t = get(base + '/metrics', OM_ACCEPT)
        return t if ' # {trace_id="' in t else None
    text = wait_for('an exemplar', has_exemplar, 10)
    list(text_string_to_metric_families(text))  # still parses with exemplars present
    stripped = '\n'.join(
        re.sub(r' # \{.*$', '', line) for line in text.split('\n')
        if not re.match(r'^[a-zA-Z_:][a-zA-Z0-9_:]*_created[ {]', line))
    # In OpenMetrics a counter family `foo` has HELP/TYPE under `foo` and samples `foo_total`;
    # the 0.0.4 grammar promtool parses sees `foo_total` as a family without help. That lint
    # note (and only that) is expected; any parse error or other lint problem fails.
    counters = [f for f, fam in families.items() if fam.type == 'counter']
    promtool_check(stripped, 'OpenMetrics without exemplars and _created samples',
                   allowed_lint=r'(%s)_total no help text' % '|'.join(map(re.escape, counters)))


def check_prometheus_scrape(port, tmp):
    prom_port = free_port()
    config = os.path.join(tmp, 'prometheus.yml')
    with open(config, 'w') as f:
        f.write('global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n'
                'scrape_configs:\n  - job_name: example\n    static_configs:\n'
                '      - targets: ["127.0.0.1:%d"]\n' % port)
    log = open(os.path.join(tmp, 'prometheus.log'), 'w')
    prom = subprocess.Popen(
        ['prometheus', '--config.file=' + config, '--storage.tsdb.path=' + os.path.join(tmp, 'data'),
         '--web.listen-address=127.0.0.1:%d' % prom_port, '--enable-feature=exemplar-storage'],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        api = 'http://127.0.0.1:%d' % prom_port
        wait_for('prometheus ready', lambda: get(api + '/-/ready')[0] == 200, 20)

        def query(q):
            _, _, body = get(api + '/api/v1/query?' + urllib.parse.urlencode({'query': q}))
            return json.loads(body)['data']['result']

        up = wait_for('up == 1', lambda: [r for r in query('up') if r['value'][1] == '1'], 40)
        print('ok: prometheus scraped the target: %s' % up[0]['metric'])
        series = wait_for('404 series', lambda: query('example_requests_total{code="404"}'), 10)
        if series[0]['metric'].get('path') != ODD_PATH:
            fail('prometheus stored label %r' % series[0]['metric'].get('path'))
        print('ok: prometheus stored the escaped label value exactly')

        def exemplars():
            now = time.time()
            _, _, body = get(api + '/api/v1/query_exemplars?' + urllib.parse.urlencode(
                {'query': 'example_requests_total', 'start': now - 120, 'end': now + 10}))
            data = json.loads(body)['data']
            return data if data and data[0].get('exemplars') else None
        ex = wait_for('exemplars in prometheus', exemplars, 20)
        print('ok: prometheus parsed OpenMetrics exemplars: %s' % ex[0]['exemplars'][0]['labels'])
        _, _, targets = get(api + '/api/v1/targets')
        health = json.loads(targets)['data']['activeTargets'][0]
        if health['health'] != 'up' or health.get('lastError'):
            fail('target health: %s' % health)
    finally:
        stop_process(prom)
        log.close()


def main():
    if len(sys.argv) != 2:
        fail('usage: promtool_test.py <strobe_metrics_example>')
    for tool in ('promtool', 'prometheus'):
        if shutil.which(tool) is None:
            fail('%s not installed (Debian package prometheus, scripts/packages.txt)' % tool)
    tmp = tempfile.mkdtemp(prefix='strobe-promtool-')
    example = subprocess.Popen([sys.argv[1], '--port', '0'], stdout=subprocess.PIPE, text=True)
    try:
        line = example.stdout.readline()
        m = re.match(r'listening on 127\.0\.0\.1:(\d+)', line)
        if not m:
            fail('example did not report its port: %r' % line)
        port = int(m.group(1))
        base = 'http://127.0.0.1:%d' % port
        wait_for('example serving', lambda: get(base + '/metrics')[0] == 200, 10)
        check_prometheus_text(base)
        check_openmetrics(base)
        check_prometheus_scrape(port, tmp)
        print('PASS')
    finally:
        stop_process(example)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
