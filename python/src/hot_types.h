#pragma once

// The hot half of the `strobe._strobe` extension: Counter, Gauge and Histogram handles and
// the Timer context manager, written as plain CPython extension types (PyType_FromSpec) rather
// than pybind11 classes. A pybind11 method call costs ~100 ns of argument casting and overload
// dispatch before our code runs; a METH_O / METH_FASTCALL method on a static slot is called
// straight from the interpreter's specialised CALL instruction (docs/python.md has the
// measurements that decided this). Everything else in the module is pybind11 (module.cc).
//
// A handle is bound to one series of one connection: it holds a strong reference to the
// connection object (the pybind11 `Ring`) and a pointer to the connection's producer slot, so
// the hot call is one load, one branch and the inline ring write of strobe::shm::Producer —
// no hashing, no allocation, no syscall. When the connection is closed (or the process forked)
// the slot holds nullptr and the call raises strobe.ConnectionClosed.
//
// Thread class: the GIL serialises every call, which is what makes one Producer per
// connection safe (Producer is owner-thread only); nothing here releases the GIL.

#include <Python.h>

#include <cstdint>
#include <memory>

#include "strobe/shm/producer.h"

namespace strobe::python {

// One connection's writer. `raw` mirrors `producer.get()` and is what handles read; it is
// nullptr once closed, and in a forked child (where `producer` is released, not destroyed, so
// the parent's ring is not marked closed).
struct RingCore {
  std::unique_ptr<shm::Producer> producer;
  shm::Producer* raw = nullptr;
  bool forked = false;
};

// Resolves the pybind11 `Ring` object `owner` to its core (nullptr + TypeError if it is not a
// Ring). Defined in module.cc, where pybind11 knows the type.
RingCore* RingCoreFromObject(PyObject* owner);

// Exception types shared with module.cc (created there before AddHotTypes runs).
struct Errors {
  PyObject* strobe_error = nullptr;
  PyObject* connection_closed = nullptr;
  PyObject* daemon_not_running = nullptr;
  PyObject* ring_full = nullptr;
  PyObject* permission_denied = nullptr;
};
extern Errors g_errors;

// Adds the types CounterBase, GaugeBase, HistogramBase and Timer to module `m`. Returns false
// with a Python error set on failure.
bool AddHotTypes(PyObject* m);

}  // namespace strobe::python
