"""What the package writes matches lib/strobe/shm/ring_abi.h byte for byte, checked by an
independent reader written here with `struct` (no consumer: require_daemon=False)."""

import os
import struct

import strobe


def read_records(path):
    with open(path, "rb") as f:
        seg = f.read()
    magic, version, header_bytes, capacity, pid, slots = struct.unpack_from("<IHHQII", seg, 0)
    write_pos, reserve_pos, dropped, _, closed = struct.unpack_from("<5Q", seg, 64)
    read_pos, ack_seq = struct.unpack_from("<2Q", seg, 128)
    header = dict(magic=magic, version=version, header_bytes=header_bytes, capacity=capacity,
                  pid=pid, slots=slots, write_pos=write_pos, reserve_pos=reserve_pos,
                  dropped=dropped, closed=closed, read_pos=read_pos, ack_seq=ack_seq)
    data = seg[header_bytes:header_bytes + capacity]
    pos, out = read_pos, []
    while pos < write_pos:
        length, rtype, flags = struct.unpack_from("<IHH", data, pos % capacity)
        payload = data[pos % capacity + 8: pos % capacity + 8 + length]
        out.append((rtype, flags, payload))
        pos += (8 + length + 7) & ~7
    assert pos == write_pos
    return header, out


def test_segment_header_and_records(tmp_path):
    conn = strobe.connect("fmt", str(tmp_path), require_daemon=False, capacity_bytes=1 << 16)
    c = conn.counter("req_total", labelnames=["m"]).labels(m="GET")
    c.inc(7)
    h = conn.histogram("lat")
    h.record(2.5)
    conn.event("boot", v="1", timestamp_ns=42)
    h.record_many([1.0, 2.0], [5, 6])
    seq = conn._ring.ping()
    header, recs = read_records(conn.path)
    assert header == dict(magic=0x42525453, version=1, header_bytes=256, capacity=1 << 16,
                          pid=os.getpid(), slots=1, write_pos=header["write_pos"],
                          reserve_pos=header["write_pos"], dropped=0, closed=0, read_pos=0,
                          ack_seq=0)
    assert os.stat(conn.path).st_mode & 0o777 == 0o600
    assert [r[0] for r in recs] == [1, 2, 1, 4, 6, 7, 8]
    assert all(r[1] == 0 for r in recs)
    sid, kind, text_len = struct.unpack_from("<QII", recs[0][2])
    assert (sid, kind) == (c.series_id, 1)
    assert recs[0][2][16:16 + text_len] == b"req_total\0m\0GET\0"
    assert struct.unpack("<QQQ", recs[1][2]) == (c.series_id, 0, 7)
    assert struct.unpack("<QQd", recs[3][2]) == (h.series_id, 0, 2.5)
    ts, name_len, attr_len = struct.unpack_from("<QII", recs[4][2])
    assert ts == 42 and recs[4][2][16:] == b"boot" + b"v\x001\x00"
    assert (name_len, attr_len) == (4, 4)
    count, bkind = struct.unpack_from("<II", recs[5][2])
    assert (count, bkind) == (2, 3)
    assert [struct.unpack_from("<QQd", recs[5][2], 8 + 24 * i) for i in range(2)] == [
        (h.series_id, 5, 1.0), (h.series_id, 6, 2.0)]
    assert struct.unpack("<Q", recs[6][2]) == (seq,)
    path = conn.path
    conn.close()
    assert read_records(path)[0]["closed"] == 1
    os.unlink(path)  # no daemon to reclaim it
