"""Spans and events.

``span()`` is a context manager (sync and async) that nests through a ``contextvars``
variable: a span opened inside another one — in the same thread, or in an asyncio task created
while it was open — becomes its child (same trace id, parent_span_id = the outer span's id).
Each task gets its own copy of the context, so concurrent tasks never see each other's spans.
The SPAN record (trace id, ids, start/end in Unix ns, name, attributes) is written when the
span ends; an exception leaving the block adds ``error="true"`` and ``exception.type``.
"""

import contextvars
import random
import time

__all__ = ["Span", "current_span"]

_current = contextvars.ContextVar("strobe_current_span", default=None)


def current_span():
    """The innermost open span of this context (thread / asyncio task), or None."""
    return _current.get()


def _attr_pairs(attributes):
    pairs = []
    for k, v in attributes.items():
        if not isinstance(k, str):
            raise TypeError(f"attribute names must be str, not {type(k).__name__}")
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif not isinstance(v, str):
            v = str(v)
        pairs.append((k, v))
    return pairs


def _nonzero_id(bits):
    while True:
        v = random.getrandbits(bits)
        if v:
            return v


class Span:
    """One span; use through ``Connection.span()`` / ``strobe.span()``."""

    __slots__ = ("_conn", "name", "attributes", "trace_id", "span_id", "parent_span_id",
                 "start_ns", "end_ns", "_token")

    def __init__(self, conn, name, attributes):
        if not isinstance(name, str):
            raise TypeError(f"span name must be a str, not {type(name).__name__}")
        if not name:
            raise ValueError("span name must not be empty")
        self._conn = conn
        self.name = name
        self.attributes = dict(attributes)
        self.trace_id = None
        self.span_id = 0
        self.parent_span_id = 0
        self.start_ns = 0
        self.end_ns = 0
        self._token = None

    def set_attribute(self, key, value):
        self.attributes[key] = value

    def __enter__(self):
        if self._token is not None or self.end_ns:
            raise RuntimeError("a Span can be entered only once")
        self._conn._check_open()
        parent = _current.get()
        if parent is not None:
            self.trace_id = parent.trace_id
            self.parent_span_id = parent.span_id
        else:
            self.trace_id = _nonzero_id(128).to_bytes(16, "little")
        self.span_id = _nonzero_id(64)
        self._token = _current.set(self)
        self.start_ns = time.time_ns()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.end_ns = time.time_ns()
        _current.reset(self._token)
        if exc_type is not None:
            self.attributes.setdefault("error", "true")
            self.attributes.setdefault("exception.type", exc_type.__name__)
        self._conn._ring.span(self.trace_id, self.span_id, self.parent_span_id, self.start_ns,
                              self.end_ns, self.name, _attr_pairs(self.attributes))
        return False

    async def __aenter__(self):
        return self.__enter__()

    async def __aexit__(self, exc_type, exc, tb):
        return self.__exit__(exc_type, exc, tb)

    @property
    def trace_id_hex(self):
        return self.trace_id.hex() if self.trace_id else None

    def __repr__(self):
        return (f"Span({self.name!r}, span_id={self.span_id:#x}, "
                f"parent_span_id={self.parent_span_id:#x})")
