"""Connection: one per-process shared-memory ring to the strobe daemon.

Everything that is not a hot metric call lives here: creating metrics, spans and events, the
numpy batch API, flush/ping round trips (a PING record whose sequence number the daemon stores
in the ring's ack_seq once it processed every earlier record), their asyncio variants, and
reading results back from the daemon's snapshot segment.
"""

import asyncio
import json
import os
import threading
import time

from . import _strobe
from ._metrics import Counter, Gauge, Histogram
from ._tracing import Span, _attr_pairs


class DataLossError(_strobe.StrobeError):
    """The daemon read records of this connection and refused them; raised by flush() and
    aflush() once for the records refused since the previous flush. ``records`` is how many.

    Any refusal counts: a series definition refused (the daemon's series limit, or a label
    key its attribute key table could not take), points of that series or of a series never
    defined, undecodable payloads, invalid values. The daemon counts each by reason in
    strobe_shm_invalid_records_total (series_limit, key_table_full, key_too_long,
    unknown_series, ...). The refused records are lost; the connection stays usable."""

    def __init__(self, message, records=0):
        super().__init__(message)
        self.records = records

__all__ = ["Connection", "connect", "default_connection", "read_snapshot"]

_KINDS = {"counter": _strobe.KIND_COUNTER, "gauge": _strobe.KIND_GAUGE,
          "histogram": _strobe.KIND_HISTOGRAM}

_default = None
_default_lock = threading.Lock()


def _after_fork_in_child():
    # Every ring of this process (also those only metric handles still reference) refuses
    # writes in the child: the parent keeps writing them.
    global _default
    _strobe._after_fork_in_child()
    _default = None


os.register_at_fork(after_in_child=_after_fork_in_child)


class Connection:
    """A connection to the daemon through this process's ring (see ``strobe.connect``).

    Thread-safe in the Python sense: every call holds the GIL, which serialises the writes.
    Usable as a context manager (closes on exit)."""

    def __init__(self, ring="strobe", dir="/dev/shm", *, policy="drop",
                 capacity_bytes=1 << 22, spin_limit=1 << 16, require_daemon=True, mode=0o600,
                 define_timeout=2.0):
        if not isinstance(ring, str) or not isinstance(dir, str):
            raise TypeError("ring and dir must be str")
        if policy not in ("drop", "spin"):
            raise ValueError(f"policy must be 'drop' or 'spin', got {policy!r}")
        for what, v in (("capacity_bytes", capacity_bytes), ("spin_limit", spin_limit),
                        ("mode", mode)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise TypeError(f"{what} must be a non-negative int")
        self._ring = _strobe.Ring(ring, dir, capacity_bytes, policy, spin_limit,
                                  bool(require_daemon), mode)
        self._series = {}
        self._define_timeout = float(define_timeout)
        # rejected_records of the ring at the last flush; a new ring starts at 0.
        self._rejected_seen = 0
        self.policy = policy

    # ---- lifecycle -----------------------------------------------------------------------

    def close(self):
        """Closes the ring: the daemon drains what was written and removes the segment. Every
        later call on this connection or its metrics raises ConnectionClosed. Idempotent."""
        global _default
        self._ring.close()
        if _default is self:
            _default = None

    @property
    def closed(self):
        return self._ring.closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _check_open(self):
        if self._ring.closed:
            raise _strobe.ConnectionClosed("strobe connection is closed")

    @property
    def path(self):
        """The segment file of this process's ring."""
        return self._ring.path

    @property
    def ring(self):
        return self._ring.ring

    @property
    def dir(self):
        return self._ring.dir

    @property
    def dropped_records(self):
        """Records dropped because the ring was full (also reported by the daemon)."""
        return self._ring.dropped_records

    # ---- metrics ---------------------------------------------------------------------------

    def _define(self, kind, name, labels, meta=("", "", ())):
        # meta = (description, UCUM unit, explicit bounds): part of the key, so a second
        # definition with other buckets is sent (and refused by the daemon: DataLossError).
        key = (kind, name, labels, meta)
        sid = self._series.get(key)
        if sid is None:
            description, unit, bounds = meta
            sid = self._ring.define_series(kind, name, list(labels), self._define_timeout,
                                           description, unit, list(bounds))
            self._series[key] = sid
        return sid

    def counter(self, name, description="", labelnames=(), *, unit=""):
        return Counter(name, description, labelnames, unit=unit, connection=self)

    def gauge(self, name, description="", labelnames=(), *, unit=""):
        return Gauge(name, description, labelnames, unit=unit, connection=self)

    def histogram(self, name, description="", labelnames=(), *, unit="", buckets=None):
        return Histogram(name, description, labelnames, unit=unit, buckets=buckets,
                         connection=self)

    # ---- spans and events ------------------------------------------------------------------

    def span(self, name, **attributes):
        """A span context manager (``with`` / ``async with``); nests with contextvars."""
        self._check_open()
        return Span(self, name, attributes)

    def event(self, name, timestamp_ns=None, **attributes):
        """Writes one EVENT record (timestamp defaults to now, Unix ns). Returns False if the
        ring was full and the event was dropped (counted)."""
        if not isinstance(name, str):
            raise TypeError(f"event name must be a str, not {type(name).__name__}")
        if timestamp_ns is None:
            timestamp_ns = time.time_ns()
        elif not isinstance(timestamp_ns, int) or timestamp_ns < 0:
            raise TypeError("timestamp_ns must be a non-negative int")
        return self._ring.event(timestamp_ns, name, _attr_pairs(attributes))

    # ---- numpy batches ---------------------------------------------------------------------

    def batch(self, series, values, timestamps=None, *, kind=None):
        """Writes many points as BATCH records, reading the arrays in place.

        ``series`` is a bound metric handle (every value goes to it; its kind is used) or a 1-D
        integer array of series ids (``metric.series_id``) as long as ``values``, with ``kind``
        ("counter", "gauge" or "histogram"). ``values``: 1-D real array (float64 is used as
        is, other int/float dtypes are converted). ``timestamps``: optional 1-D int array of
        Unix ns (0 = stamped by the daemon). Returns the number of points written: fewer than
        ``len(values)`` only when the ring was full under the "drop" policy."""
        import numpy as np

        if isinstance(series, (Counter, Gauge, Histogram)):
            if series._connection is not self:
                raise ValueError("the metric belongs to another connection")
            if series.series_id == 0:
                raise ValueError("this metric has label names: pass .labels(...) instead")
            k = series._kind
            if kind is not None and _KINDS.get(kind) != k:
                raise ValueError(f"kind={kind!r} does not match the metric")
            sid = series.series_id
        else:
            if kind not in _KINDS:
                raise ValueError(f"kind must be one of {sorted(_KINDS)} when series is an "
                                 f"array of ids, got {kind!r}")
            k = _KINDS[kind]
            sid = _as_u64("series_ids", np, series)
        vals = _as_f64(np, values)
        if not isinstance(sid, int) and len(sid) != len(vals):
            raise ValueError(f"series_ids has {len(sid)} entries, values {len(vals)}")
        ts = None
        if timestamps is not None:
            ts = _as_u64("timestamps", np, timestamps)
            if len(ts) != len(vals):
                raise ValueError(f"timestamps has {len(ts)} entries, values {len(vals)}")
        return self._ring.batch(k, sid, vals, ts)

    # ---- round trips -----------------------------------------------------------------------

    def _not_acknowledged(self, timeout):
        return TimeoutError(
            f"strobe daemon did not acknowledge the flush of ring {self.ring!r} within "
            f"{timeout} s: no daemon is draining it, or the daemon's pipeline is refusing data "
            f"(back-pressure: memory limit, full queue); the records stay in the ring")

    def _ping_or_none(self):
        try:
            return self._ring.ping()
        except _strobe.RingFull:
            return None

    def _ring_full_for(self, timeout):
        return _strobe.RingFull(
            f"strobe ring {self.ring!r} stayed full for {timeout} s: the flush's PING could not "
            f"be written (is the daemon draining the ring?)")

    def flush(self, timeout=1.0, spin=50e-6):
        """Waits until the daemon's pipeline has accepted every record written so far (a PING
        round trip; while the pipeline refuses data, e.g. at its memory limit, the daemon
        holds the acknowledgement): busy-polls for ``spin`` seconds, then sleeps with the GIL
        released. While the ring has no room for the PING itself, waits for the daemon to
        drain it (sleeping, GIL released). Raises RingFull when the ring stayed full for
        ``timeout`` seconds, TimeoutError when the PING was not acknowledged within
        ``timeout`` seconds, and DataLossError when the daemon refused records written since
        the previous flush."""
        deadline = time.monotonic() + timeout
        delay = 5e-5
        while (seq := self._ping_or_none()) is None:
            if time.monotonic() >= deadline:
                raise self._ring_full_for(timeout)
            time.sleep(delay)
            delay = min(delay * 2, 5e-3)
        if not self._ring.wait_ack(seq, max(deadline - time.monotonic(), 0.0), float(spin)):
            raise self._not_acknowledged(timeout)
        self._raise_if_refused()

    def _raise_if_refused(self):
        # Called after the acknowledgement was seen: the daemon stores rejected_records before
        # ack_seq, and the ack was read with acquire, so every refusal up to the PING is here.
        rejected = self._ring.rejected_records()
        seen = self._rejected_seen
        if rejected != seen:
            self._rejected_seen = rejected
            n = rejected - seen
            raise DataLossError(
                f"strobe daemon refused {n} record(s) of ring {self.ring!r} since the previous "
                f"flush (a series definition refused: series limit or attribute key table "
                f"full; points of a refused or undefined series; invalid payloads or values; "
                f"see strobe_shm_invalid_records_total by reason)", n)

    def ping(self, timeout=1.0, spin=1e-3):
        """One round trip; returns its duration in ns (busy-poll up to ``spin`` seconds)."""
        start = time.perf_counter_ns()
        self.flush(timeout, spin)
        return time.perf_counter_ns() - start

    async def aflush(self, timeout=1.0):
        """``flush()`` for asyncio: polls the acknowledgement with ``asyncio.sleep`` and a
        backoff (0 → 50 µs → … 5 ms), never blocking the event loop. Raises RingFull,
        TimeoutError and DataLossError as ``flush()`` does."""
        deadline = time.monotonic() + timeout
        delay = 0.0
        while (seq := self._ping_or_none()) is None:
            if time.monotonic() >= deadline:
                raise self._ring_full_for(timeout)
            await asyncio.sleep(delay)
            delay = 5e-5 if delay == 0.0 else min(delay * 2, 5e-3)
        delay = 0.0
        while self._ring.ack_seq() < seq:
            if time.monotonic() > deadline:
                raise self._not_acknowledged(timeout)
            await asyncio.sleep(delay)
            delay = 5e-5 if delay == 0.0 else min(delay * 2, 5e-3)
        self._raise_if_refused()

    async def aping(self, timeout=1.0):
        start = time.perf_counter_ns()
        await self.aflush(timeout)
        return time.perf_counter_ns() - start

    # ---- results back from the daemon (no HTTP) ---------------------------------------------

    def snapshot(self):
        """The daemon's current results from its read-only shared snapshot (see
        ``strobe.read_snapshot``): a dict with "metrics" (as /api/v1/metrics), "windows"
        (stream window results, /api/v1/stream/series), "alerts" (/api/v1/alerts),
        "service_graph", plus "generation" and "time_unix_ns". The daemon rewrites it every
        ``shm.snapshot_interval`` (250 ms): call ``flush()`` and then ``wait_snapshot()`` to
        read results that include what this program just wrote."""
        self._check_open()
        return read_snapshot(self.ring, self.dir)

    def metrics(self):
        """``snapshot()["metrics"]["metrics"]``: every metric family with its series."""
        return self.snapshot().get("metrics", {}).get("metrics", [])

    def windows(self):
        """``snapshot()["windows"]``: the stream processor's window results per series."""
        return self.snapshot().get("windows", {})

    def alerts(self):
        """``snapshot()["alerts"]``: alert rules' states and history."""
        return self.snapshot().get("alerts", {})

    def wait_snapshot(self, newer_than=None, timeout=5.0):
        """Blocks (GIL released while sleeping) until the daemon publishes a snapshot newer
        than generation ``newer_than`` (default: the current one) and returns it."""
        self._check_open()
        poll = _SnapshotPoll(self.ring, self.dir, newer_than, timeout)
        while (snap := poll.next()) is None:
            time.sleep(poll.interval)
        return snap

    async def asnapshot(self, newer_than=None, timeout=5.0):
        """``wait_snapshot()`` for asyncio: polls with ``asyncio.sleep``; never blocks the loop
        (each read is a copy of the document, tens of microseconds)."""
        self._check_open()
        poll = _SnapshotPoll(self.ring, self.dir, newer_than, timeout)
        while (snap := poll.next()) is None:
            await asyncio.sleep(poll.interval)
        return snap

    def __repr__(self):
        state = "closed" if self.closed else self.path
        return f"<strobe.Connection ring={self.ring!r} {state}>"


def _as_f64(np, values):
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"values must be a 1-D array, got shape {arr.shape}")
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"values must have a real numeric dtype, got {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def _as_u64(what, np, a):
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{what} must have an integer dtype, got {arr.dtype}")
    if arr.dtype.kind == "i" and arr.size and arr.min() < 0:
        raise ValueError(f"{what} must be non-negative")
    if arr.dtype.itemsize == 8:
        return np.ascontiguousarray(arr).view(np.uint64)
    return np.ascontiguousarray(arr, dtype=np.uint64)


def read_snapshot(ring="strobe", dir="/dev/shm"):
    """Reads the results snapshot the daemon publishes at ``<dir>/strobe-<ring>.snapshot``
    (a read-only shared-memory segment, consistent copy by seqlock; no HTTP, no connection
    needed). Returns the parsed JSON document plus "generation" and "time_unix_ns".
    Raises DaemonNotRunning when there is no live daemon's snapshot, StrobeError when the
    segment is invalid."""
    generation, time_unix_ns, _pid, document = _strobe._read_snapshot(dir, ring)
    try:
        out = json.loads(document)
    except ValueError as e:
        raise _strobe.StrobeError(f"strobe snapshot is not valid JSON: {e}") from None
    out["generation"] = generation
    out["time_unix_ns"] = time_unix_ns
    return out


class _SnapshotPoll:
    """One wait for a snapshot newer than a generation (shared by the blocking and the
    asyncio waits): next() returns it, or None to sleep ``interval`` and ask again."""

    interval = 0.01

    def __init__(self, ring, dir, newer_than, timeout):
        self._ring, self._dir = ring, dir
        self._target = (newer_than if newer_than is not None
                        else read_snapshot(ring, dir)["generation"])
        self._timeout = timeout
        self._deadline = time.monotonic() + timeout

    def next(self):
        snap = read_snapshot(self._ring, self._dir)
        if snap["generation"] > self._target:
            return snap
        if time.monotonic() > self._deadline:
            raise TimeoutError(f"no strobe snapshot newer than generation {self._target} "
                               f"within {self._timeout} s")
        return None


def connect(ring="strobe", dir="/dev/shm", *, policy="drop", capacity_bytes=1 << 22,
            spin_limit=1 << 16, require_daemon=True, mode=0o600, define_timeout=2.0):
    """Connects to the daemon's shm ring ``ring`` in ``dir`` and returns a Connection. The
    first connection also becomes the default one used by ``strobe.Counter(...)``,
    ``strobe.span()`` and ``strobe.event()`` without ``connection=``.

    Raises DaemonNotRunning when no live daemon marks the ring (``require_daemon=False``
    writes anyway; the daemon picks the ring up when it starts), PermissionDenied (a
    PermissionError) when the ring directory, the daemon marker or the segment is not
    accessible to this user (EACCES/EPERM: typically a daemon running as another user; the
    message names the path), ValueError/TypeError for bad arguments, StrobeError when the
    segment cannot be created otherwise."""
    global _default
    conn = Connection(ring, dir, policy=policy, capacity_bytes=capacity_bytes,
                      spin_limit=spin_limit, require_daemon=require_daemon, mode=mode,
                      define_timeout=define_timeout)
    with _default_lock:
        if _default is None or _default.closed:
            _default = conn
    return conn


def default_connection():
    """The default Connection (the first ``connect()`` that is still open)."""
    conn = _default
    if conn is None or conn.closed:
        raise _strobe.ConnectionClosed(
            "no open default strobe connection: call strobe.connect() first or pass "
            "connection=")
    return conn
