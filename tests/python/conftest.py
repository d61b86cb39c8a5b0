"""Fixtures: real consumers of the shm rings, each on a private temp dir and ring name.

- ``dump``: strobe_shm_dump — the C++ strobe::shm::Consumer printing every decoded record as a
  JSON line; ``dump.until_ping()`` returns the records read before the next PING (call it after
  ``conn.flush()``).
- ``sink``: strobe_shm_sink — the counting consumer; ``sink.stop()`` returns its JSON totals.
Binaries come from $STROBE_SHM_DUMP / $STROBE_SHM_SINK (ctest sets them) or build/release.
Every process is stopped (SIGTERM, then SIGKILL after a deadline) when the test ends.
"""

import json
import os
import pathlib
import queue
import signal
import subprocess
import threading
import uuid

import pytest

import strobe

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("STROBE_BUILD_DIR", ROOT / "build" / "release"))
DEADLINE_S = 10.0


def _binary(env, rel):
    path = os.environ.get(env) or str(BUILD / rel)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not built (set {env} or build {rel})")
    return path


class Consumer:
    def __init__(self, argv, tmp_path):
        self.dir = str(tmp_path)
        self.ring = "t" + uuid.uuid4().hex[:12]
        self.proc = subprocess.Popen(argv + ["--dir", self.dir, "--ring", self.ring],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        first = self.next_line()
        assert first is not None and "ready" in first, f"consumer did not start: {first!r}"

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next_line(self, timeout=DEADLINE_S):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output from consumer within {timeout} s") from None

    def connect(self, **kwargs):
        return strobe.connect(self.ring, self.dir, **kwargs)

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop(self):
        """SIGTERM; returns the parsed last JSON line (the consumer's totals)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        self._reader.join(timeout=DEADLINE_S)
        last = None
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line:
                last = line
        return json.loads(last) if last else None


class Dump(Consumer):
    def until_ping(self):
        """Decoded records up to (not including) the next PING."""
        out = []
        while True:
            line = self.next_line()
            assert line is not None, "strobe_shm_dump exited"
            rec = json.loads(line)
            assert "invalid" not in rec, f"C++ reader rejected a record: {rec}"
            if rec.get("type") == "ping":
                return out
            out.append(rec)


@pytest.fixture
def dump(tmp_path):
    c = Dump([_binary("STROBE_SHM_DUMP", "tests/python/strobe_shm_dump")], tmp_path)
    yield c
    c.stop()


@pytest.fixture
def sink(tmp_path):
    c = Consumer([_binary("STROBE_SHM_SINK", "lib/strobe/shm/strobe_shm_sink")], tmp_path)
    yield c
    c.stop()


@pytest.fixture
def conn(dump):
    c = dump.connect()
    yield c
    c.close()
