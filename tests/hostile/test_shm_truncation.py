"""Hole 2: a local producer shrinking its own ring crashed the daemon. The daemon mapped the
ring file; a producer that `ftruncate`d it while attached made the daemon's next read fault
with SIGBUS (exit 135, no log). Now the fault is caught (strobe/shm/fault_guard.h), the ring
is dropped and counted in strobe_shm_rejected_rings_total{reason="truncated"}, the file is left
alone, and every other producer's data arrives exactly.

Two attackers attach normally, then, while the daemon is stopped (SIGSTOP, so the daemon has
records left to read), write 4,000 records and truncate their ring: one to its first page (the
daemon faults in the data area), one to zero bytes (it faults on the header).

On d11632b the daemon died of SIGBUS as soon as it was resumed ("strobe exited (-7)").
"""

import os
import pathlib
import selectors
import signal
import subprocess
import sys
import uuid

import strobe

from hostile import assert_serving, metric, wait_stopped

ATTACKER = r"""
import os, sys, strobe
ring, shm_dir, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
conn = strobe.connect(ring, shm_dir)
c = conn.counter("attacker_total")
c.inc()
conn.flush(timeout=10)           # attached: the daemon has read this ring
print(conn.path, flush=True)
sys.stdin.readline()             # the daemon is stopped now
for _ in range(4000):
    c.inc()
os.truncate(conn.path, size)
print("truncated", flush=True)
sys.stdin.readline()
os._exit(0)                      # never touch the shrunk mapping again
"""

LATE = r"""
import sys, strobe
with strobe.connect(sys.argv[1], sys.argv[2]) as conn:
    conn.counter("late_total").inc(3)
    conn.flush(timeout=10)
"""


def readline(proc, timeout=10.0):
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        assert sel.select(timeout), "no line from the attacker within %s s" % timeout
    finally:
        sel.close()
    line = proc.stdout.readline()
    assert line, "the attacker exited (%s)" % proc.poll()
    return line.strip()


def test_truncating_an_attached_ring_does_not_crash_the_daemon(daemon):
    ring = "h" + uuid.uuid4().hex[:10]
    d = daemon(args=["--shm", ring])
    env = dict(os.environ)
    env["PYTHONPATH"] = str(pathlib.Path(strobe.__file__).resolve().parents[1])

    good = strobe.connect(ring, d.shm_dir)
    attackers = []
    try:
        requests = good.counter("good_requests_total", labelnames=["client"]).labels("good")
        level = good.gauge("good_level")
        requests.inc(5)
        level.set(2.5)
        good.flush(timeout=10)

        # One page (the header and the first 3,840 bytes of data; a partly covered page would
        # read as zeros, which the reader skips as a malformed frame without faulting).
        one_page = os.sysconf("SC_PAGE_SIZE")
        paths = []
        for size in (one_page, 0):
            p = subprocess.Popen([sys.executable, "-c", ATTACKER, ring, d.shm_dir, str(size)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                 env=env)
            attackers.append(p)
            paths.append(readline(p))
        before = metric(d, "strobe_shm_rejected_rings_total", reason="truncated")

        d.signal(signal.SIGSTOP)
        try:
            wait_stopped(d.proc.pid)
            for p in attackers:
                p.stdin.write("go\n")
                p.stdin.flush()
                assert readline(p) == "truncated"
            # The well-behaved producer keeps writing meanwhile.
            requests.inc(7)
            level.set(4.25)
        finally:
            d.signal(signal.SIGCONT)

        def dropped_and_counted():
            assert d.proc.poll() is None, "strobe exited (%s):\n%s" % (d.proc.returncode,
                                                                       d.read_log()[-2000:])
            try:
                return metric(d, "strobe_shm_rejected_rings_total",
                              reason="truncated") >= before + 2
            except OSError:
                return False  # dying: the next round says how

        d.poll(dropped_and_counted, "both truncated rings counted", timeout=15)
        assert_serving(d)
        good.flush(timeout=10)  # acknowledged, nothing refused (no DataLossError)
        d.poll(lambda: metric(d, "good_requests_total", client="good") == 12,
               "good_requests_total == 12", timeout=10)
        d.poll(lambda: metric(d, "good_level") == 4.25, "good_level == 4.25", timeout=10)
        assert metric(d, "strobe_shm_rejected_rings_total", reason="truncated") - before == 2
        # The shrunk files are the attacker's: left alone, as they are.
        assert [os.path.getsize(p) for p in paths] == [one_page, 0]

        # A new producer (another process) is served as usual.
        subprocess.run([sys.executable, "-c", LATE, ring, d.shm_dir], env=env, check=True,
                       timeout=30)
        d.poll(lambda: metric(d, "late_total") == 3, "late_total == 3", timeout=10)
        assert metric(d, "good_requests_total", client="good") == 12
        assert_serving(d)
    finally:
        for p in attackers:
            if p.poll() is None:
                p.kill()
            p.wait()
        if d.proc.poll() is None:
            good.close()
