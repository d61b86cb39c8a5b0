"""Hole 3: symlink and marker attacks in the shared shm directory. The daemon wrote its marker
through `strobe-<ring>.daemon.tmp` with a plain std::ofstream (follows symlinks, no exclusive
create), then chmod-ed and renamed it: a symlink planted there made the daemon overwrite the
target with its pid and set it to mode 0600 (as root: any file on the host). A planted marker
naming any live pid stopped the daemon from starting, and a FIFO planted as the marker hung
its start for good. Now every file is created with O_CREAT|O_EXCL|O_NOFOLLOW under a random
name and renamed into place (a symlink is replaced, never followed), a marker not owned by the
daemon's user is not trusted, and markers and rings are opened O_NOFOLLOW|O_NONBLOCK and must
be regular files (docs/shm-format.md, "The daemon marker"; docs/security.md).

The directory is world-writable and sticky like /dev/shm. Files of another user can only be
planted by root: the test that needs one is skipped for other users (it runs in CI, as root).

On d11632b: the planted `.daemon.tmp` symlink's target was overwritten with the daemon's pid
and chmod-ed 0600; a marker of uid 65534 naming pid 1 stopped the start ("already consumed by
pid 1"); a FIFO marker hung the start (never ready).
"""

import os
import stat
import uuid

import pytest
import strobe

from hostile import assert_serving, metric

NOBODY = 65534 if os.geteuid() != 65534 else 65533


def shared_dir(tmp_path):
    shm = tmp_path / "shm"
    shm.mkdir()
    os.chmod(shm, 0o1777)  # like /dev/shm: anyone may plant files, the sticky bit protects them
    return shm


def precious(tmp_path, name):
    p = tmp_path / name
    p.write_text("precious %s\n" % name)
    os.chmod(p, 0o644)
    return p


def assert_untouched(p):
    assert p.read_text() == "precious %s\n" % p.name, p
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o644, oct(os.stat(p).st_mode)


def assert_own_marker(d, shm, ring):
    """The marker is a regular file of the daemon's user, mode 0600, holding its pid."""
    marker = shm / ("strobe-%s.daemon" % ring)
    st = os.lstat(marker)
    assert stat.S_ISREG(st.st_mode), oct(st.st_mode)
    assert st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) == 0o600, (st.st_uid,
                                                                             oct(st.st_mode))
    # The pid, then the features this daemon reads (ring_abi.h STROBE_FEATURE_*).
    assert marker.read_text() == "%d\nfeatures 1\n" % d.proc.pid


def assert_ingests(d, shm, ring, name):
    """A producer finds the daemon through the marker and its counter arrives exactly."""
    with strobe.connect(ring, str(shm)) as conn:
        conn.counter(name).inc(3)
        conn.flush(timeout=10)
    d.poll(lambda: metric(d, name) == 3, "%s == 3" % name, timeout=10)
    assert_serving(d)


def start(daemon, shm, ring):
    return daemon(args=["--shm", ring], env={"STROBE_SHM_DIR": str(shm)})


def test_planted_symlinks_are_replaced_not_followed(daemon, tmp_path):
    shm = shared_dir(tmp_path)
    ring = "h" + uuid.uuid4().hex[:10]
    base = str(shm / ("strobe-" + ring))
    targets = {}
    for suffix in (".daemon.tmp", ".daemon", ".snapshot", ".snapshot.tmp"):
        t = precious(tmp_path, "target" + suffix.replace(".", "_"))
        os.symlink(t, base + suffix)
        targets[suffix] = t

    d = start(daemon, shm, ring)
    for t in targets.values():
        assert_untouched(t)
    assert_own_marker(d, shm, ring)
    snap = os.lstat(base + ".snapshot")
    assert stat.S_ISREG(snap.st_mode) and snap.st_uid == os.geteuid()
    assert_ingests(d, shm, ring, "symlink_ok_total")

    d.stop()
    for t in targets.values():
        assert_untouched(t)
    assert not os.path.lexists(base + ".daemon") and not os.path.lexists(base + ".snapshot")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can plant a file of another user")
def test_a_marker_of_another_user_naming_a_live_pid_is_not_trusted(daemon, tmp_path):
    shm = shared_dir(tmp_path)
    ring = "h" + uuid.uuid4().hex[:10]
    marker = shm / ("strobe-%s.daemon" % ring)
    marker.write_text("1\n")  # pid 1 is alive
    os.chown(marker, NOBODY, NOBODY)

    d = start(daemon, shm, ring)
    assert_own_marker(d, shm, ring)
    assert_ingests(d, shm, ring, "foreign_marker_ok_total")


def test_a_marker_of_our_own_user_naming_a_live_daemon_stops_a_second_one(daemon, tmp_path):
    """The design's other side: a marker the daemon's own user wrote is trusted, so a second
    daemon on a live ring fails at start with an error naming the pid and the marker."""
    shm = shared_dir(tmp_path)
    ring = "h" + uuid.uuid4().hex[:10]
    first = start(daemon, shm, ring)
    second = daemon(args=["--shm", ring], env={"STROBE_SHM_DIR": str(shm)}, ready=False)
    assert second.wait_exit(timeout=15) != 0
    assert "already consumed by pid %d" % first.proc.pid in second.read_log()
    assert_own_marker(first, shm, ring)
    assert_serving(first)


def test_bogus_and_fifo_markers_and_a_fifo_ring_do_not_stop_the_daemon(daemon, tmp_path):
    shm = shared_dir(tmp_path)
    for i, plant in enumerate(("bogus", "fifo")):
        ring = "h%d%s" % (i, uuid.uuid4().hex[:8])
        marker = shm / ("strobe-%s.daemon" % ring)
        if plant == "bogus":
            marker.write_text("not a pid\n")
        else:
            os.mkfifo(marker)  # opening it to read would block for ever without O_NONBLOCK
            os.mkfifo(shm / ("strobe-%s-4000000" % ring))  # and one named like a ring
        d = start(daemon, shm, ring)
        assert_own_marker(d, shm, ring)
        assert_ingests(d, shm, ring, "%s_marker_ok_total" % plant)
        if plant == "fifo":
            assert stat.S_ISFIFO(os.lstat(shm / ("strobe-%s-4000000" % ring)).st_mode)
        d.stop()
