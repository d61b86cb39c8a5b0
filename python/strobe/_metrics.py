"""Counter, Gauge, Histogram and Timer: thin Python subclasses of the C handles.

The hot methods (``Counter.inc``, ``Gauge.set/inc/dec``, ``Histogram.record/observe``,
``Timer.__enter__/__exit__``) are inherited unchanged from the C types in ``strobe._strobe``,
so a call goes from the interpreter straight into C++ and writes one record to the ring. This
module only adds construction, ``labels()`` and the ``timer()`` decorator, none of which run on
the hot path: a child returned by ``labels()`` is a bound handle, cached by label values, and
the code that keeps it never hashes again.
"""

import functools
import inspect
from time import perf_counter_ns

from . import _strobe

__all__ = ["Counter", "Gauge", "Histogram", "Timer"]


def _check_name(what, name):
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, not {type(name).__name__}")
    if not name:
        raise ValueError(f"{what} must not be empty")
    if "\0" in name:
        raise ValueError(f"{what} must not contain NUL characters")


def _label_names(labelnames):
    if isinstance(labelnames, str):
        raise TypeError("labelnames must be a sequence of str, not a single str")
    names = tuple(labelnames)
    for n in names:
        _check_name("label name", n)
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate label names in {names!r}")
    return names


# prometheus_client unit words → the UCUM units OTLP uses (the daemon's Prometheus exporter maps
# them back for # UNIT and the name suffix). Any other unit is sent as given.
_UCUM = {
    "seconds": "s", "milliseconds": "ms", "microseconds": "us", "nanoseconds": "ns",
    "minutes": "min", "hours": "h", "days": "d", "bytes": "By", "kilobytes": "KBy",
    "megabytes": "MBy", "gigabytes": "GBy", "kibibytes": "KiBy", "mebibytes": "MiBy",
    "gibibytes": "GiBy", "meters": "m", "volts": "V", "amperes": "A", "joules": "J",
    "watts": "W", "grams": "g", "celsius": "Cel", "hertz": "Hz", "percent": "%",
}


def _unit(unit):
    if not isinstance(unit, str):
        raise TypeError(f"unit must be a str, not {type(unit).__name__}")
    if "\0" in unit:
        raise ValueError("unit must not contain NUL characters")
    return _UCUM.get(unit, unit)


def _buckets(buckets):
    """prometheus_client's rules: sorted, a trailing +Inf is implied (and dropped here: the
    daemon always adds the (last, +Inf) bucket), at least one finite bound."""
    if buckets is None:
        return ()
    if isinstance(buckets, (str, bytes)):
        raise TypeError("buckets must be a sequence of numbers")
    bounds = [float(b) for b in buckets]
    if bounds and bounds[-1] == float("inf"):
        bounds.pop()
    if not bounds:
        raise ValueError("buckets must have at least one finite bound besides +Inf")
    for i, b in enumerate(bounds):
        if b != b or b in (float("inf"), float("-inf")):
            raise ValueError(f"bucket bounds must be finite (+Inf only last), got {b!r}")
        if i and not b > bounds[i - 1]:
            raise ValueError("buckets not in sorted order (strictly increasing)")
    return tuple(bounds)


def _setup(metric, kind, name, description, labelnames, connection, unit="", buckets=None):
    from ._connection import default_connection

    _check_name("metric name", name)
    if not isinstance(description, str):
        raise TypeError("description must be a str")
    if "\0" in description:
        raise ValueError("description must not contain NUL characters")
    conn = connection if connection is not None else default_connection()
    metric.name = name
    metric.description = description
    metric.unit = unit
    metric.labelnames = _label_names(labelnames)
    metric.labelvalues = ()
    metric._connection = conn
    metric._children = {}
    metric._meta = (description, _unit(unit), _buckets(buckets))
    if not metric.labelnames:
        metric._bind(conn._ring, conn._define(kind, name, (), metric._meta))


class _Labelled:
    """Shared ``labels()`` for the three metric kinds (mixed into each subclass)."""

    __slots__ = ()
    _kind = 0

    def labels(self, *values, **kwargs):
        """Returns the child handle for one set of label values (created and defined on the ring
        the first time, then cached). Keep the child: its hot calls never hash."""
        names = self.labelnames
        if not names:
            raise ValueError(f"metric {self.name!r} has no label names")
        if self.labelvalues:
            raise ValueError("labels() called on a child; call it on the parent metric")
        if values and kwargs:
            raise ValueError("pass label values either by position or by name, not both")
        if kwargs:
            if set(kwargs) != set(names):
                raise ValueError(
                    f"metric {self.name!r} needs labels {names!r}, got {tuple(kwargs)!r}")
            values = tuple(kwargs[n] for n in names)
        elif len(values) != len(names):
            raise ValueError(f"metric {self.name!r} needs {len(names)} label values, "
                             f"got {len(values)}")
        key = tuple(v if isinstance(v, str) else str(v) for v in values)
        child = self._children.get(key)
        if child is None:
            for v in key:
                if "\0" in v:
                    raise ValueError("label values must not contain NUL characters")
            conn = self._connection
            child = type(self).__new__(type(self))
            child.name = self.name
            child.description = self.description
            child.unit = self.unit
            child._meta = self._meta
            child.labelnames = names
            child.labelvalues = key
            child._connection = conn
            child._children = None
            child._bind(conn._ring,
                        conn._define(self._kind, self.name, tuple(zip(names, key)), self._meta))
            self._children[key] = child
        return child

    with_labels = labels

    def __repr__(self):
        labels = ", ".join(f"{k}={v!r}" for k, v in zip(self.labelnames, self.labelvalues))
        return f"{type(self).__name__}({self.name!r}{', ' if labels else ''}{labels})"


_SLOTS = ("name", "description", "unit", "labelnames", "labelvalues", "_connection",
          "_children", "_meta")


class Counter(_strobe.CounterBase, _Labelled):
    """A monotonically increasing count: ``inc(amount=1)`` with a non-negative number (an int
    on the fast path; a float is added exactly in units of 1e-9, see docs/python.md).
    ``description`` and ``unit`` reach the daemon (# HELP / # UNIT on /metrics, the OTLP
    description and unit)."""

    __slots__ = _SLOTS
    _kind = _strobe.KIND_COUNTER

    def __init__(self, name, description="", labelnames=(), *, unit="", connection=None):
        _setup(self, self._kind, name, description, labelnames, connection, unit)


class Gauge(_strobe.GaugeBase, _Labelled):
    """A value that goes up and down: ``set(x)``, ``inc(d=1.0)``, ``dec(d=1.0)``. inc/dec are
    relative to the last value this handle sent (the ring carries absolute values)."""

    __slots__ = _SLOTS
    _kind = _strobe.KIND_GAUGE

    def __init__(self, name, description="", labelnames=(), *, unit="", connection=None):
        _setup(self, self._kind, name, description, labelnames, connection, unit)


class Histogram(_strobe.HistogramBase, _Labelled):
    """A distribution: ``record(x)`` (alias ``observe``) with a finite number; the daemon keeps
    the buckets and percentiles. Without ``buckets`` the daemon keeps exponential buckets
    (bounded relative error); with ``buckets=[...]`` (prometheus_client's rule: sorted, +Inf
    implied) it counts the observations in exactly those buckets and exports an
    explicit-bounds histogram."""

    __slots__ = _SLOTS
    _kind = _strobe.KIND_HISTOGRAM

    def __init__(self, name, description="", labelnames=(), *, unit="", buckets=None,
                 connection=None):
        _setup(self, self._kind, name, description, labelnames, connection, unit, buckets)

    @property
    def buckets(self):
        """The explicit upper bounds (without +Inf); () for exponential buckets."""
        return self._meta[2]

    def time(self):
        """prometheus_client's ``Histogram.time()``: a context manager and decorator that
        records the elapsed time in seconds."""
        return self.timer(scale=1e-9)

    def timer(self, scale=1.0):
        """A context manager and decorator recording elapsed ``time.perf_counter_ns()``
        nanoseconds times ``scale`` (``scale=1e-9`` records seconds)."""
        if not self.labelnames or self.labelvalues:
            return Timer(self, scale)
        raise ValueError("this metric has label names: call .labels(...).timer()")

    def record_many(self, values, timestamps=None):
        """Records a numpy array of values (one BATCH record per chunk). Returns the count
        written (fewer only when the ring was full under the "drop" policy)."""
        return self._connection.batch(self, values, timestamps)


class Timer(_strobe.Timer):
    """``with hist.timer():`` records the block's duration; ``@hist.timer()`` records each call
    (coroutine functions are awaited inside the measurement)."""

    __slots__ = ()

    def __call__(self, func):
        hist, scale = self.histogram, self.scale
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_timed(*args, **kwargs):
                start = perf_counter_ns()
                try:
                    return await func(*args, **kwargs)
                finally:
                    hist.record((perf_counter_ns() - start) * scale)
            return async_timed

        @functools.wraps(func)
        def timed(*args, **kwargs):
            start = perf_counter_ns()
            try:
                return func(*args, **kwargs)
            finally:
                hist.record((perf_counter_ns() - start) * scale)
        return timed
