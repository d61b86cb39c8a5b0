#!/usr/bin/python3
# Writes the seed corpus of wal_segment_fuzz_test (corpus/segment): a valid segment and torn,
# bit-flipped and malformed copies of it. An encoder of the format independent of the C++ one
# (docs/design/wal.md); wal_test's SegmentCorpusTest checks the seeds decode as named.
import os
import struct

T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    T.append(c)


def crc(b, c=0):
    c ^= 0xFFFFFFFF
    for x in b:
        c = (c >> 8) ^ T[(c ^ x) & 0xFF]
    return c ^ 0xFFFFFFFF


assert crc(b"123456789") == 0xE3069283


def header(first):
    h = b"STRBWAL\0" + struct.pack("<IIQI", 1, 32, first, 0)
    return h + struct.pack("<I", crc(h))


def frame(seq, typ, payload, ts=1_700_000_000_000_000_000):
    n = struct.pack("<I", len(payload))
    rest = struct.pack("<QQII", seq, ts + seq, typ, crc(payload))
    return n + struct.pack("<I", crc(rest, crc(n))) + rest + payload


out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "segment")
recs = [frame(7 + i, i % 3, (b"payload-%d-" % i) * (i * 5 + 1)) for i in range(4)]
valid = header(7) + b"".join(recs)
last = len(valid) - len(recs[-1])
files = {
    "valid_4_records": valid,
    "header_only": header(1),
    "empty": b"",
    "torn_header": header(1)[:17],
    "zero_tail": valid + b"\0" * 64,
    "wrong_seq": header(7) + recs[0] + frame(99, 0, b"x"),
    "huge_length": header(1) + struct.pack("<I", 0xFFFFFFF0) + b"\0" * 28,
    "empty_payload": header(3) + frame(3, 0, b"") + frame(4, 1, b""),
}
for name, cut in (("plus_1", 1), ("plus_12", 12), ("plus_31", 31), ("plus_32", 32),
                  ("plus_40", 40), ("minus_1", len(recs[-1]) - 1)):
    files["torn_last_" + name] = valid[:last + cut]
for name, at in (("len", 0), ("crc", 4), ("seq", 8), ("time", 16), ("type", 24),
                 ("payload_crc", 28), ("payload", 40)):
    b = bytearray(valid)
    b[last + at] ^= 0x20
    files["flip_last_" + name] = bytes(b)
b = bytearray(valid)
b[32 + len(recs[0]) + 40] ^= 1
files["flip_second_payload"] = bytes(b)
b = bytearray(header(1))
b[8] = 2
files["bad_version"] = bytes(b)
os.makedirs(out, exist_ok=True)
for k, v in files.items():
    with open(os.path.join(out, k), "wb") as f:
        f.write(v)
