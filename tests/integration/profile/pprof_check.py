"""Checks a pprof file the way its users read it: decoded by the real `protoc` against
profile.proto, and opened by the real `go tool pprof -top` (Debian golang-go).

Shared by test_cpu_profile_demo.py (strobe::profile::CpuProfiler in a program) and
test_serve_pprof.py (/debug/pprof/profile of `strobe serve`).
"""
import gzip
import os
import re
import shutil
import subprocess

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'lib',
                         'strobe', 'profile', 'testdata')


def fail(msg):
    print('FAIL: ' + msg, flush=True)
    raise SystemExit(1)


def protoc_decode(pb_gz_path):
    """The profile as protoc's text format (the file must be gzip and decode cleanly)."""
    if shutil.which('protoc') is None:
        fail('protoc (Debian protobuf-compiler, in scripts/packages.txt) is missing')
    with open(pb_gz_path, 'rb') as f:
        raw = gzip.decompress(f.read())
    out = subprocess.run(['protoc', '--decode=perftools.profiles.Profile', '-I', PROTO_DIR,
                          'profile.proto'], input=raw, capture_output=True, timeout=30)
    if out.returncode != 0:
        fail('protoc --decode: ' + out.stderr.decode())
    return out.stdout.decode()


def leaf_shares(text):
    """{function name: share of the last sample value} over samples, by leaf function, from
    protoc's text output: the string table, functions, locations and samples re-linked here."""
    strings = [bytes(s, 'utf-8').decode('unicode_escape').encode('latin-1').decode('utf-8')
               for s in re.findall(r'^string_table: "(.*)"$', text, re.M)]
    functions = {}
    for body in re.findall(r'^function \{\n(.*?)^\}', text, re.M | re.S):
        fid = int(re.search(r'id: (\d+)', body).group(1))
        functions[fid] = strings[int(re.search(r'name: (\d+)', body).group(1))]
    locations = {}
    for body in re.findall(r'^location \{\n(.*?)^\}\n', text, re.M | re.S):
        lid = int(re.search(r'^  id: (\d+)', body, re.M).group(1))
        fn = re.search(r'function_id: (\d+)', body)
        locations[lid] = functions[int(fn.group(1))] if fn else '?'
    totals = {}
    grand = 0
    for body in re.findall(r'^sample \{\n(.*?)^\}', text, re.M | re.S):
        ids = [int(x) for x in re.findall(r'location_id: (\d+)', body)]
        value = int(re.findall(r'value: (\d+)', body)[-1])
        leaf = locations[ids[0]] if ids else '?'
        totals[leaf] = totals.get(leaf, 0) + value
        grand += value
    if grand == 0:
        fail('profile has no samples')
    return {k: v / grand for k, v in totals.items()}


def share_of(shares, needle):
    return sum(v for k, v in shares.items() if needle in k)


def go_pprof_top(pb_gz_path):
    """{function: flat%} from `go tool pprof -top`, or None when go is not installed."""
    go = shutil.which('go') or ('/usr/lib/go/bin/go' if os.path.exists('/usr/lib/go/bin/go')
                                else None)
    if go is None:
        return None
    env = dict(os.environ, HOME=os.environ.get('HOME', '/tmp'), GOFLAGS='-mod=mod',
               PPROF_TMPDIR=os.path.dirname(pb_gz_path))
    out = subprocess.run([go, 'tool', 'pprof', '-top', '-nodecount=50', pb_gz_path],
                         capture_output=True, timeout=120, env=env)
    if out.returncode != 0:
        fail('go tool pprof -top: ' + out.stderr.decode())
    flat = {}
    for line in out.stdout.decode().splitlines():
        # "     2.80s 70.18% 70.18%      2.80s 70.18%  burn_cpu(unsigned long)"
        m = re.match(r'\s*\S+\s+([\d.]+)%\s+[\d.]+%\s+\S+\s+[\d.]+%\s+(.*)$', line)
        if m:
            flat[m.group(2)] = flat.get(m.group(2), 0.0) + float(m.group(1))
    print(out.stdout.decode(), flush=True)
    return flat
