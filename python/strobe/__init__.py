"""strobe — send metrics, spans and events to the local strobe daemon through shared memory.

    import strobe
    conn = strobe.connect()                       # ring "strobe" in /dev/shm
    requests = conn.counter("http_requests_total", labelnames=["method"])
    get = requests.labels(method="GET")           # keep the child: inc() never hashes
    get.inc()
    latency = conn.histogram("http_latency_ns")
    with latency.timer():
        ...
    with conn.span("handle", route="/"):
        ...
    conn.flush()                                  # round trip: the daemon has it all

See docs/python.md for the whole API, the exceptions and the performance figures.
"""

from ._strobe import (ConnectionClosed, DaemonNotRunning, PermissionDenied, RingFull,
                      StrobeError, RING_VERSION)
from ._metrics import Counter, Gauge, Histogram, Timer
from ._tracing import Span, current_span
from ._connection import (Connection, DataLossError, connect, default_connection,
                          read_snapshot)

__version__ = "0.1.0"

__all__ = [
    "Connection", "ConnectionClosed", "Counter", "DaemonNotRunning", "DataLossError", "Gauge",
    "Histogram", "PermissionDenied",
    "RingFull", "RING_VERSION", "Span", "StrobeError", "Timer", "connect", "current_span",
    "default_connection", "event", "read_snapshot", "span",
]


def span(name, *, connection=None, **attributes):
    """``default_connection().span(name, **attributes)`` (or ``connection``'s)."""
    return (connection or default_connection()).span(name, **attributes)


def event(name, timestamp_ns=None, *, connection=None, **attributes):
    """``default_connection().event(...)`` (or ``connection``'s)."""
    return (connection or default_connection()).event(name, timestamp_ns, **attributes)
