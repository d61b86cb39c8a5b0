"""node_exporter's file system, uname and boot-time metrics on a real `strobe serve`'s /metrics,
checked against what Python reads from the kernel: os.statvfs('/'), os.uname(), /proc/stat."""

import os
import re
import time

from hostile import metric

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(d, name):
    """{frozenset(labels.items()): value} of every series of `name` on /metrics."""
    status, _, body = d.request("GET", "/metrics")
    assert status == 200, status
    out = {}
    for line in body.splitlines():
        m = _SAMPLE.match(line)
        if m and m.group(1) == name:
            out[frozenset(_LABEL.findall(m.group(2)))] = float(m.group(3))
    return out


def root_mount():
    """(device, fstype, read_only) of the mount on top at "/" in our mountinfo."""
    found = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            dash = fields.index("-")
            if fields[4] == "/":
                found = (fields[dash + 2], fields[dash + 1], "ro" in fields[5].split(","))
    assert found is not None
    return found


def collections(d):
    return metric(d, "strobe_host_collections_total")


def test_root_filesystem_uname_and_boot_time(daemon):
    d = daemon(args=["--set", "host.interval=100ms"])
    device, fstype, read_only = root_mount()
    labels = frozenset({"device": device, "fstype": fstype, "mountpoint": "/"}.items())
    d.poll(lambda: labels in samples(d, "node_filesystem_size_bytes"),
           "node_filesystem_size_bytes of /", timeout=10)

    # The disk is shared with other processes: find a moment when os.statvfs('/') reads the
    # same before and after a collection that started after the first read; then strobe's
    # value must equal it exactly.
    fields = {"node_filesystem_size_bytes": lambda s: s.f_blocks * s.f_frsize,
              "node_filesystem_free_bytes": lambda s: s.f_bfree * s.f_frsize,
              "node_filesystem_avail_bytes": lambda s: s.f_bavail * s.f_frsize,
              "node_filesystem_files": lambda s: s.f_files,
              "node_filesystem_files_free": lambda s: s.f_ffree}
    deadline = time.time() + 30
    exact = False
    while time.time() < deadline and not exact:
        before = os.statvfs("/")
        n = collections(d)
        d.poll(lambda: collections(d) >= n + 2, "two more collections", timeout=10)
        got = {name: samples(d, name)[labels] for name in fields}
        after = os.statvfs("/")
        stable = all(f(before) == f(after) for f in fields.values())
        if stable:
            for name, f in fields.items():
                assert got[name] == f(after), (name, got[name], f(after))
            exact = True
    if not exact:  # never stable: strobe's values must lie between the two reads
        for name, f in fields.items():
            lo, hi = sorted((f(before), f(after)))
            assert lo <= got[name] <= hi, (name, got[name], lo, hi)
    assert samples(d, "node_filesystem_readonly")[labels] == (1 if read_only else 0)
    assert samples(d, "node_filesystem_device_error")[labels] == 0
    assert got["node_filesystem_size_bytes"] > 0

    # No pseudo file system, no /proc, /sys or /dev mount, and each mount point once.
    series = samples(d, "node_filesystem_device_error")
    mountpoints = [dict(k)["mountpoint"] for k in series]
    assert len(mountpoints) == len(set(mountpoints)), mountpoints
    for k in series:
        lab = dict(k)
        assert lab["fstype"] not in ("proc", "sysfs", "cgroup", "cgroup2", "devpts", "devtmpfs",
                                     "overlay", "mqueue"), lab
        assert not re.match(r"^/(dev|proc|sys)($|/)", lab["mountpoint"]), lab

    u = os.uname()
    with open("/proc/sys/kernel/domainname") as f:
        domainname = f.read().strip()
    uname = samples(d, "node_uname_info")
    assert uname == {frozenset({"sysname": u.sysname, "release": u.release,
                                "version": u.version, "machine": u.machine,
                                "nodename": u.nodename, "domainname": domainname}.items()): 1}

    with open("/proc/stat") as f:
        btime = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    assert metric(d, "node_boot_time_seconds") == btime
