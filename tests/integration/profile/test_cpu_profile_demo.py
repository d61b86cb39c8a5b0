#!/usr/bin/python3
"""Integration test: CpuProfiler's pprof output opened by real tools.

Runs strobe_cpu_profile_demo (two threads, each 2 s of CPU split 70% burn_cpu / 30% other_work,
sampled at 999 Hz), then:
  1. `protoc --decode` (profile.proto) decodes the gzip'd file; re-linking samples, locations,
     functions and strings from protoc's output gives burn_cpu 70% and other_work 30% of the cpu
     value within 5 points;
  2. `go tool pprof -top` opens it and shows the same flat shares within 5 points;
  3. the folded stacks carry RunSplitWorkload;burn_cpu.
go is the real peer (Debian golang-go): without it the test fails under CI=true and is skipped
visibly elsewhere (after the protoc checks ran).
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'daemon'))
from strobe_proc import peer_missing  # noqa: E402
from pprof_check import fail, go_pprof_top, leaf_shares, protoc_decode, share_of  # noqa: E402


def main():
    demo = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([demo, tmp], capture_output=True, timeout=60)
        if out.returncode != 0:
            fail('demo: %s %s' % (out.stdout, out.stderr))
        print(out.stdout.decode().strip(), flush=True)
        pb = os.path.join(tmp, 'cpu.pb.gz')
        shares = leaf_shares(protoc_decode(pb))
        burn = share_of(shares, 'burn_cpu(')
        other = share_of(shares, 'other_work(')
        print('protoc: burn_cpu %.3f other_work %.3f' % (burn, other), flush=True)
        if abs(burn - 0.70) > 0.05 or abs(other - 0.30) > 0.05:
            fail('shares from protoc: burn_cpu %.3f other_work %.3f' % (burn, other))
        with open(os.path.join(tmp, 'cpu.folded')) as f:
            folded = f.read()
        if 'RunSplitWorkload(double);strobe::profile::testing::burn_cpu(unsigned long) ' \
                not in folded:
            fail('folded stacks lack RunSplitWorkload;burn_cpu:\n' + folded)
        flat = go_pprof_top(pb)
        if flat is None:
            peer_missing('go (Debian golang-go, for `go tool pprof`)')
        burn = share_of(flat, 'burn_cpu') / 100
        other = share_of(flat, 'other_work') / 100
        if abs(burn - 0.70) > 0.05 or abs(other - 0.30) > 0.05:
            fail('go tool pprof -top: burn_cpu %.3f other_work %.3f' % (burn, other))
    print('PASS', flush=True)


if __name__ == '__main__':
    main()
