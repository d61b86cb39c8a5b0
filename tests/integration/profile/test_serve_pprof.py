#!/usr/bin/python3
"""Integration test: /debug/pprof of `strobe serve` under OTLP load.

Starts the daemon (API token set, OTLP/HTTP receiver on), and while threads POST an OTLP/HTTP
protobuf trace body (2000 spans, 8 attributes each) in a loop:
  1. GET /debug/pprof/profile?seconds=8&hz=999 answers a gzip'd pprof that `protoc --decode`
     reads and `go tool pprof -top` opens; the OTLP decoder (functions of strobed::otlp) holds a
     visible share of the daemon's CPU (flat, summed);
  2. a second profile request while the first runs gets 409; the API (/healthz, /metrics) keeps
     answering during the profile (the profile waits on its own thread, not on the I/O thread);
  3. bounds and access: seconds=0 / 61 / hz=x are 400, no token is 401, the index lists the
     profile; a daemon on a non-loopback listener answers 403 unless debug.pprof is on.
go is the real peer (Debian golang-go): without it the test fails under CI=true and is skipped
visibly elsewhere (after everything else ran).
"""
import gzip
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'daemon'))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'hostile'))
from strobe_proc import Daemon, peer_missing, stop_process  # noqa: E402
import otlp_pb  # noqa: E402
from pprof_check import fail, go_pprof_top, leaf_shares, protoc_decode, share_of  # noqa: E402

TOKEN = 'pprof-test-token'
AUTH = {'Authorization': 'Bearer ' + TOKEN}


def trace_body(n_spans):
    now = time.time_ns()
    spans = []
    for i in range(n_spans):
        attrs = {'http.route': '/r%d' % (i % 50), 'http.status_code': 200 + i % 5,
                 'user': 'u%d' % i, 'region': 'eu-%d' % (i % 3), 'ok': i % 2 == 0,
                 'latency': i * 0.5, 'peer': 'svc-%d' % (i % 7), 'n': i}
        spans.append(otlp_pb.span(os.urandom(16), os.urandom(8), None, 'op%d' % (i % 20),
                                  now, now + 1000 * i, attrs))
    return otlp_pb.traces_request({'service.name': 'pprof-load'}, spans)


def get(port, path, headers=AUTH, timeout=30):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.request('GET', path, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def load(otlp_addr, body, stop, sent):
    host, port = otlp_addr.rsplit(':', 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    while not stop.is_set():
        try:
            conn.request('POST', '/v1/traces', body=body,
                         headers=dict(AUTH, **{'Content-Type': 'application/x-protobuf'}))
            r = conn.getresponse()
            r.read()
            if r.status == 200:
                sent[0] += 1
        except OSError:
            conn.close()
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.close()


def check_non_loopback(binary):
    """listen.http on 0.0.0.0: 403 by default (auto), served with debug.pprof: on."""
    for mode, want in (('auto', 403), ('on', 200)):
        tmp = tempfile.mkdtemp(prefix='strobe-pprof-')
        os.mkdir(os.path.join(tmp, 'shm'), 0o700)
        env = dict(os.environ, STROBE_DEBUG_PPROF=mode, STROBE_SHM_DIR=os.path.join(tmp, 'shm'))
        env.pop('STROBE_TOKEN', None)
        log_path = os.path.join(tmp, 'strobe.log')
        with open(log_path, 'w') as log:
            proc = subprocess.Popen([binary, 'serve', '--http', '0.0.0.0:0', '--otlp-http', 'off',
                                     '--otlp-grpc', 'off', '--wire', 'off', '--data-dir',
                                     os.path.join(tmp, 'data')],
                                    stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.time() + 15
            port = None
            while time.time() < deadline and port is None:
                with open(log_path) as f:
                    text = f.read()
                m = re.search(r'listening on http://0\.0\.0\.0:(\d+)', text)
                port = int(m.group(1)) if m else None
                if proc.poll() is not None:
                    fail('daemon exited:\n' + text)
                time.sleep(0.05)
            if port is None:
                fail('no port in log:\n' + text)
            status, body = get(port, '/debug/pprof/', headers={})
            if status != want:
                fail('debug.pprof=%s on 0.0.0.0: %s %r' % (mode, status, body[:200]))
            if want == 403 and b'debug.pprof' not in body:
                fail('403 does not name the key: %r' % body)
        finally:
            stop_process(proc)
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    binary = sys.argv[1]
    d = Daemon(binary, env={'STROBE_TOKEN': TOKEN}, otlp_http='127.0.0.1:0')
    d.headers = AUTH
    stop = threading.Event()
    loaders = []
    try:
        port = d.wait_port()
        otlp_addr = d.wait_otlp()
        d.wait_ready()
        # Access and bounds.
        status, body = get(port, '/debug/pprof/')
        if status != 200 or b'profile?seconds=' not in body:
            fail('index: %s %r' % (status, body[:300]))
        if get(port, '/debug/pprof/profile?seconds=1', headers={})[0] != 401:
            fail('profile without the token was not 401')
        for q in ('seconds=0', 'seconds=61', 'hz=x', 'hz=1001', 'seconds=-1'):
            status, _ = get(port, '/debug/pprof/profile?' + q)
            if status != 400:
                fail('profile?%s: %s, want 400' % (q, status))
        if get(port, '/debug/pprof/nothing')[0] != 404:
            fail('unknown profile was not 404')

        body = trace_body(2000)
        sent = [0]
        for _ in range(3):
            t = threading.Thread(target=load, args=(otlp_addr, body, stop, sent), daemon=True)
            t.start()
            loaders.append(t)
        d.poll(lambda: sent[0] >= 3, 'the OTLP load to be accepted', timeout=30)

        result = {}

        def profile():
            result['r'] = get(port, '/debug/pprof/profile?seconds=8&hz=999', timeout=60)
        taker = threading.Thread(target=profile)
        taker.start()
        # While it runs, a second one is refused. A probe may win the race to start first (it
        # then answers 200 and the taker 409): start the taker again and probe again.
        deadline = time.time() + 20
        while True:
            status, _ = get(port, '/debug/pprof/profile?seconds=1')
            if status == 409:
                break
            if time.time() > deadline:
                fail('a concurrent profile request never got 409 (last %s)' % status)
            taker.join(timeout=60)
            if result.get('r', (None,))[0] == 409:
                taker = threading.Thread(target=profile)
                taker.start()
                time.sleep(0.2)  # not synchronisation: only lets the taker win the next race
        t0 = time.time()
        if get(port, '/healthz')[0] != 200 or get(port, '/metrics')[0] != 200:
            fail('API not answering during a profile')
        if time.time() - t0 > 4:  # the profile holds for 8 s: a blocked API would wait that
            fail('API answers took %.1f s during a profile' % (time.time() - t0))
        taker.join(timeout=60)
        status, pb = result.get('r', (None, b''))
        if status != 200:
            fail('profile: %s %r' % (status, pb[:300]))
        stop.set()
        for t in loaders:
            t.join(timeout=15)
        print('OTLP requests accepted during the test: %d' % sent[0], flush=True)

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'strobe.pb.gz')
            with open(path, 'wb') as f:
                f.write(pb)
            gzip.decompress(pb)  # must be gzip
            shares = leaf_shares(protoc_decode(path))
            top = sorted(shares.items(), key=lambda kv: -kv[1])[:15]
            for name, share in top:
                print('%6.2f%%  %s' % (100 * share, name[:120]), flush=True)
            otlp = share_of(shares, 'strobed::otlp::')
            print('protoc: strobed::otlp:: flat %.2f%%' % (100 * otlp), flush=True)
            if otlp < 0.03:
                fail('the OTLP decoder is not visible in the profile (%.2f%%)' % (100 * otlp))
            check_non_loopback(binary)
            flat = go_pprof_top(path)
            if flat is None:
                peer_missing('go (Debian golang-go, for `go tool pprof`)')
            otlp_go = share_of(flat, 'strobed::otlp::') / 100
            if abs(otlp_go - otlp) > 0.02:
                fail('go tool pprof shows strobed::otlp:: at %.2f%%, protoc %.2f%%'
                     % (100 * otlp_go, 100 * otlp))
    finally:
        stop.set()
        for t in loaders:
            t.join(timeout=15)
        stop_process(d.proc)
    print('PASS', flush=True)


if __name__ == '__main__':
    main()
