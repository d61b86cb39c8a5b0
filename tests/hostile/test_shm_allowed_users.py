"""Hole 4: who may publish through shared memory. Any local user could inject metrics and spans
through a ring whatever `auth.token` said, and the daemon deleted other users' files that
matched its naming. Now only rings owned by `shm.allowed_users` / `shm.allowed_groups`
(default: the daemon's own user and group) are read; others are never read, written or
removed, and are counted in strobe_shm_rejected_rings_total{reason="owner_not_allowed"}; the
owner's uid travels with the data (`process.user.id`, on /metrics as target_info's
process_user_id label).

Planting a file of another user needs root: that test is skipped for other users (CI runs as
root). The test of a configured list works for anyone: it allows a uid that is not ours.

On d11632b (STROBE_SHM_ALLOWED_USERS unknown, ignored): the ring of a user not allowed was read
and its counter published ("inject_total" on /metrics), and nothing was counted; there was no
process_user_id; an hour-old file of uid 65534 named like a ring was deleted.
"""

import os
import struct
import time
import uuid

import pytest
import strobe

from hostile import assert_serving, metric

OTHER = 65534 if os.geteuid() != 65534 else 65533
OFF_READ_POS, OFF_CONSUMER_PID = 128, 144


def rejected_owner(d):
    return metric(d, "strobe_shm_rejected_rings_total", reason="owner_not_allowed")


def plant_old_junk(path, uid=None):
    """A file named like a ring that never became one, an hour old: the daemon removes such
    files (a producer that died before publishing) only when their owner may publish."""
    with open(path, "wb") as f:
        f.write(b"\0" * 4096)
    if uid is not None:
        os.chown(path, uid, uid)
    old = time.time() - 3600
    os.utime(path, (old, old))


def header_words(path):
    with open(path, "rb") as f:
        head = f.read(256)
    return (struct.unpack_from("<Q", head, OFF_READ_POS)[0],
            struct.unpack_from("<I", head, OFF_CONSUMER_PID)[0])


def test_a_ring_of_a_user_not_allowed_is_ignored_counted_and_left_alone(daemon):
    ring = "h" + uuid.uuid4().hex[:10]
    d = daemon(args=["--shm", ring], env={"STROBE_SHM_ALLOWED_USERS": str(OTHER)})
    junk = os.path.join(d.shm_dir, "strobe-%s-4000001" % ring)
    plant_old_junk(junk)
    conn = strobe.connect(ring, d.shm_dir)
    try:
        conn.counter("inject_total").inc(5)
        with pytest.raises(TimeoutError):
            conn.flush(timeout=0.5)  # nobody reads this ring: not acknowledged
        d.poll(lambda: rejected_owner(d) >= 2, "the ring and the junk file counted", timeout=10)
        assert rejected_owner(d) == 2
        assert metric(d, "inject_total") == 0
        assert "inject_total" not in d.request("GET", "/metrics")[2]
        # Never read, written or removed.
        assert header_words(conn.path) == (0, 0)
        assert os.path.getsize(junk) == 4096
        assert_serving(d)
        # Counted once, not once per scan.
        d.poll(lambda: metric(d, "strobe_shm_rings") == 0, "no ring attached", timeout=5)
        assert rejected_owner(d) == 2
    finally:
        conn.close()


def test_default_accepts_our_own_ring_and_tags_its_uid(daemon):
    ring = "h" + uuid.uuid4().hex[:10]
    d = daemon(args=["--shm", ring])
    with strobe.connect(ring, d.shm_dir) as conn:
        conn.counter("own_requests_total", labelnames=["code"]).labels("200").inc(5)
        conn.gauge("own_level").set(3.5)
        conn.flush(timeout=10)
    d.poll(lambda: metric(d, "own_requests_total", code="200") == 5, "own_requests_total == 5",
           timeout=10)
    assert metric(d, "own_level") == 3.5
    assert metric(d, "target_info", process_user_id=str(os.geteuid())) == 1
    assert rejected_owner(d) == 0
    assert_serving(d)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can plant a file of another user")
def test_files_of_other_users_named_like_rings_are_not_removed(daemon):
    ring = "h" + uuid.uuid4().hex[:10]
    d = daemon(args=["--shm", ring])
    foreign = os.path.join(d.shm_dir, "strobe-%s-4000002" % ring)
    plant_old_junk(foreign, uid=OTHER)
    own = os.path.join(d.shm_dir, "strobe-%s-4000003" % ring)
    plant_old_junk(own)  # ours, allowed, stale: the daemon may clean it up
    d.poll(lambda: not os.path.exists(own), "our own stale file removed", timeout=10)
    # The daemon has scanned the directory since both were planted: the foreign one is
    # still there, as it was.
    assert os.path.exists(foreign), "the daemon removed a file of uid %d" % OTHER
    assert os.path.getsize(foreign) == 4096 and os.stat(foreign).st_uid == OTHER
    d.poll(lambda: rejected_owner(d) >= 1, "the foreign file counted", timeout=10)
    assert rejected_owner(d) == 1
    # Meanwhile our producer is served as usual.
    with strobe.connect(ring, d.shm_dir) as conn:
        conn.counter("beside_foreign_total").inc(4)
        conn.flush(timeout=10)
    d.poll(lambda: metric(d, "beside_foreign_total") == 4, "beside_foreign_total == 4",
           timeout=10)
    assert os.path.exists(foreign) and rejected_owner(d) == 1
    assert_serving(d)
