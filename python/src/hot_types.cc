#include "hot_types.h"

#include <structmember.h>
#include <time.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace strobe::python {

Errors g_errors;

namespace {

// What an unbound handle (a labelled parent, or an object made by __new__ alone) points at:
// the hot call sees nullptr and takes the error path.
shm::Producer* const kNoProducer = nullptr;

struct Handle {
  PyObject_HEAD shm::Producer* const* slot;  // &RingCore::raw of `owner`, or &kNoProducer
  PyObject* owner;                           // strong reference to the Ring; nullptr while unbound
  uint64_t series_id;
  double value;  // Gauge: the last value sent (inc/dec are relative to it)
};

struct Timer {
  PyObject_HEAD PyObject* histogram;  // strong reference to a HistogramBase
  int64_t start_ns;
  int64_t elapsed_ns;
  double scale;
};

PyTypeObject* g_histogram_type = nullptr;

template <typename F>
PyCFunction AsCFunction(F* f) {
  // The documented CPython idiom for METH_FASTCALL / METH_NOARGS entries: the interpreter
  // calls through the real signature chosen by the flags.
  return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f));
}

int64_t MonotonicNs() {
  // time.perf_counter_ns() is CLOCK_MONOTONIC on Linux; the vDSO makes this no syscall.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Slow path of every hot call on a handle whose slot holds nullptr.
PyObject* Unavailable(const Handle* h) {
  if (h->owner == nullptr) {
    PyErr_SetString(PyExc_ValueError,
                    "this metric has label names: call .labels(...) and use the returned child");
    return nullptr;
  }
  RingCore* core = RingCoreFromObject(h->owner);
  if (core != nullptr && core->forked) {
    PyErr_SetString(g_errors.connection_closed,
                    "strobe connection belongs to the parent process (fork): call "
                    "strobe.connect() in the child");
  } else {
    PyErr_SetString(g_errors.connection_closed, "strobe connection is closed");
  }
  return nullptr;
}

// An int amount (the caller checked PyLong_Check).
bool ToDelta(PyObject* arg, uint64_t* delta) {
  const unsigned long long v = PyLong_AsUnsignedLongLong(arg);
  if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred() != nullptr) {
    if (PyErr_ExceptionMatches(PyExc_OverflowError) && _PyLong_Sign(arg) < 0) {
      PyErr_SetString(PyExc_ValueError,
                      "Counters can only be incremented by non-negative amounts (Counter.inc() "
                      "amount must be >= 0)");
    }
    return false;
  }
  *delta = v;
  return true;
}

bool RealArg(PyObject* arg, double* out) {
  if (PyFloat_CheckExact(arg)) {
    *out = PyFloat_AS_DOUBLE(arg);
    return true;
  }
  if (PyUnicode_Check(arg) || PyBytes_Check(arg) || arg == Py_None) {
    PyErr_Format(PyExc_TypeError, "value must be a real number, not %.100s", Py_TYPE(arg)->tp_name);
    return false;
  }
  const double v = PyFloat_AsDouble(arg);  // int, numpy scalars, anything with __float__
  if (v == -1.0 && PyErr_Occurred() != nullptr) return false;
  *out = v;
  return true;
}

// ---- handles -------------------------------------------------------------------------------

PyObject* HandleNew(PyTypeObject* type, PyObject* /*args*/, PyObject* /*kwds*/) {
  auto* h = reinterpret_cast<Handle*>(type->tp_alloc(type, 0));
  if (h == nullptr) return nullptr;
  h->slot = &kNoProducer;
  h->owner = nullptr;
  h->series_id = 0;
  h->value = 0.0;
  return reinterpret_cast<PyObject*>(h);
}

int HandleInit(PyObject* /*self*/, PyObject* /*args*/, PyObject* /*kwds*/) {
  return 0;  // the Python subclasses define __init__; the base accepts anything
}

int HandleTraverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(reinterpret_cast<Handle*>(self)->owner);
  return 0;
}

int HandleClear(PyObject* self) {
  auto* h = reinterpret_cast<Handle*>(self);
  h->slot = &kNoProducer;
  Py_CLEAR(h->owner);
  return 0;
}

void HandleDealloc(PyObject* self) {
  PyTypeObject* tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  HandleClear(self);
  tp->tp_free(self);
  Py_DECREF(tp);
}

// _bind(ring, series_id): points the handle at one series of one connection. Cold path.
PyObject* HandleBind(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "_bind(ring, series_id)");
    return nullptr;
  }
  RingCore* core = RingCoreFromObject(args[0]);
  if (core == nullptr) return nullptr;
  const unsigned long long id = PyLong_AsUnsignedLongLong(args[1]);
  if (id == static_cast<unsigned long long>(-1) && PyErr_Occurred() != nullptr) return nullptr;
  auto* h = reinterpret_cast<Handle*>(self);
  Py_INCREF(args[0]);
  Py_XSETREF(h->owner, args[0]);
  h->slot = &core->raw;
  h->series_id = id;
  Py_RETURN_NONE;
}

// Counter.inc(x) with a non-int x (float, numpy scalar, Decimal, ...). Off the int path: a
// whole x is one COUNTER_ADD (which every daemon reads); a fraction is a one-entry BATCH, whose
// counter values the daemon adds exactly in 1e-9 units (ring_abi.h).
PyObject* CounterIncReal(Handle* h, PyObject* arg) {
  double v;
  if (!RealArg(arg, &v)) return nullptr;
  if (!(v >= 0)) {  // also NaN
    PyErr_SetString(PyExc_ValueError,
                    "Counters can only be incremented by non-negative amounts (Counter.inc() "
                    "amount must be >= 0)");
    return nullptr;
  }
  if (!(v < 0x1p64)) {  // also inf
    PyErr_SetString(PyExc_ValueError, "Counter.inc() amount must be finite and below 2**64");
    return nullptr;
  }
  shm::Producer* p = *h->slot;
  if (p == nullptr) return Unavailable(h);
  if (std::floor(v) == v) {
    p->CounterAdd(h->series_id, static_cast<uint64_t>(v));
  } else if ((p->daemon_features() & STROBE_FEATURE_DEFINE_META) == 0) {
    // An older daemon would refuse the entry (DataLossError at the next flush, far from here).
    PyErr_SetString(g_errors.strobe_error,
                    "the strobe daemon of this ring is older than fractional counter "
                    "increments: upgrade it, or pass whole numbers");
    return nullptr;
  } else {
    p->Batch(STROBE_KIND_COUNTER, &h->series_id, nullptr, &v, 1);  // dropped = counted
  }
  Py_RETURN_NONE;
}

// Counter.inc(amount=1): one COUNTER_ADD record.
PyObject* CounterInc(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  auto* h = reinterpret_cast<Handle*>(self);
  uint64_t delta = 1;
  if (nargs != 0) {
    if (nargs > 1) {
      PyErr_SetString(PyExc_TypeError, "Counter.inc() takes at most one argument");
      return nullptr;
    }
    if (!PyLong_Check(args[0])) return CounterIncReal(h, args[0]);
    if (!ToDelta(args[0], &delta)) return nullptr;
  }
  shm::Producer* p = *h->slot;
  if (p == nullptr) return Unavailable(h);
  p->CounterAdd(h->series_id, delta);  // false = ring full, dropped and counted in the header
  Py_RETURN_NONE;
}

// Histogram.record(x) / observe(x): one HISTOGRAM_RECORD record.
PyObject* HistogramRecord(PyObject* self, PyObject* arg) {
  auto* h = reinterpret_cast<Handle*>(self);
  double v;
  if (!RealArg(arg, &v)) return nullptr;
  if (!std::isfinite(v)) {
    PyErr_SetString(PyExc_ValueError, "Histogram.record() value must be finite");
    return nullptr;
  }
  shm::Producer* p = *h->slot;
  if (p == nullptr) return Unavailable(h);
  p->HistogramRecord(h->series_id, v);
  Py_RETURN_NONE;
}

PyObject* GaugeSend(Handle* h, double v) {
  shm::Producer* p = *h->slot;
  if (p == nullptr) return Unavailable(h);
  h->value = v;
  p->GaugeSet(h->series_id, v);
  Py_RETURN_NONE;
}

// Gauge.set(x): one GAUGE_SET record.
PyObject* GaugeSet(PyObject* self, PyObject* arg) {
  double v;
  if (!RealArg(arg, &v)) return nullptr;
  return GaugeSend(reinterpret_cast<Handle*>(self), v);
}

PyObject* GaugeAdd(PyObject* self, PyObject* const* args, Py_ssize_t nargs, double sign) {
  double d = 1.0;
  if (nargs > 1) {
    PyErr_SetString(PyExc_TypeError, "Gauge.inc()/dec() take at most one argument");
    return nullptr;
  }
  if (nargs == 1 && !RealArg(args[0], &d)) return nullptr;
  auto* h = reinterpret_cast<Handle*>(self);
  return GaugeSend(h, h->value + sign * d);
}
PyObject* GaugeInc(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  return GaugeAdd(self, args, nargs, 1.0);
}
PyObject* GaugeDec(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  return GaugeAdd(self, args, nargs, -1.0);
}

PyMemberDef kHandleMembers[] = {
    {"series_id", T_ULONGLONG, offsetof(Handle, series_id), READONLY,
     "series id within this connection (0 = unbound or labelled parent)"},
    {nullptr, 0, 0, 0, nullptr},
};
PyMemberDef kGaugeMembers[] = {
    {"series_id", T_ULONGLONG, offsetof(Handle, series_id), READONLY,
     "series id within this connection (0 = unbound or labelled parent)"},
    {"value", T_DOUBLE, offsetof(Handle, value), READONLY, "the last value sent"},
    {nullptr, 0, 0, 0, nullptr},
};

PyMethodDef kCounterMethods[] = {
    {"inc", AsCFunction(CounterInc), METH_FASTCALL,
     "inc(amount=1): add a non-negative number (int, or float: added exactly in 1e-9 units)"},
    {"_bind", AsCFunction(HandleBind), METH_FASTCALL, nullptr},
    {nullptr, nullptr, 0, nullptr},
};
PyMethodDef kHistogramMethods[] = {
    {"record", HistogramRecord, METH_O, "record(value): add one finite sample"},
    {"observe", HistogramRecord, METH_O, "observe(value): alias of record (prometheus_client)"},
    {"_bind", AsCFunction(HandleBind), METH_FASTCALL, nullptr},
    {nullptr, nullptr, 0, nullptr},
};
PyMethodDef kGaugeMethods[] = {
    {"set", GaugeSet, METH_O, "set(value)"},
    {"inc", AsCFunction(GaugeInc), METH_FASTCALL, "inc(amount=1.0): set(value + amount)"},
    {"dec", AsCFunction(GaugeDec), METH_FASTCALL, "dec(amount=1.0): set(value - amount)"},
    {"_bind", AsCFunction(HandleBind), METH_FASTCALL, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Spec HandleSpec(const char* name, PyMethodDef* methods, PyMemberDef* members,
                       PyType_Slot* slots) {
  int i = 0;
  slots[i++] = {Py_tp_new, reinterpret_cast<void*>(HandleNew)};
  slots[i++] = {Py_tp_init, reinterpret_cast<void*>(HandleInit)};
  slots[i++] = {Py_tp_dealloc, reinterpret_cast<void*>(HandleDealloc)};
  slots[i++] = {Py_tp_traverse, reinterpret_cast<void*>(HandleTraverse)};
  slots[i++] = {Py_tp_clear, reinterpret_cast<void*>(HandleClear)};
  slots[i++] = {Py_tp_methods, methods};
  slots[i++] = {Py_tp_members, members};
  slots[i] = {0, nullptr};
  return PyType_Spec{name, static_cast<int>(sizeof(Handle)), 0,
                     Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, slots};
}

// ---- Timer ---------------------------------------------------------------------------------

PyObject* TimerNew(PyTypeObject* type, PyObject* args, PyObject* kwds) {
  static const char* kKeywords[] = {"histogram", "scale", nullptr};
  PyObject* hist = nullptr;
  double scale = 1.0;
  if (PyArg_ParseTupleAndKeywords(args, kwds, "O|d:Timer", const_cast<char**>(kKeywords), &hist,
                                  &scale) == 0) {
    return nullptr;
  }
  if (PyObject_TypeCheck(hist, g_histogram_type) == 0) {
    PyErr_Format(PyExc_TypeError, "Timer needs a strobe Histogram, not %.100s",
                 Py_TYPE(hist)->tp_name);
    return nullptr;
  }
  if (!std::isfinite(scale) || scale <= 0.0) {
    PyErr_SetString(PyExc_ValueError, "Timer scale must be a positive finite number");
    return nullptr;
  }
  auto* t = reinterpret_cast<Timer*>(type->tp_alloc(type, 0));
  if (t == nullptr) return nullptr;
  Py_INCREF(hist);
  t->histogram = hist;
  t->start_ns = 0;
  t->elapsed_ns = -1;
  t->scale = scale;
  return reinterpret_cast<PyObject*>(t);
}

int TimerInit(PyObject* /*self*/, PyObject* /*args*/, PyObject* /*kwds*/) { return 0; }

int TimerTraverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(reinterpret_cast<Timer*>(self)->histogram);
  return 0;
}

int TimerClear(PyObject* self) {
  Py_CLEAR(reinterpret_cast<Timer*>(self)->histogram);
  return 0;
}

void TimerDealloc(PyObject* self) {
  PyTypeObject* tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  TimerClear(self);
  tp->tp_free(self);
  Py_DECREF(tp);
}

PyObject* TimerEnter(PyObject* self, PyObject* /*unused*/) {
  reinterpret_cast<Timer*>(self)->start_ns = MonotonicNs();
  Py_INCREF(self);
  return self;
}

// __exit__: records (now - start) * scale into the histogram; never swallows the exception.
PyObject* TimerExit(PyObject* self, PyObject* const* /*args*/, Py_ssize_t /*nargs*/) {
  auto* t = reinterpret_cast<Timer*>(self);
  t->elapsed_ns = MonotonicNs() - t->start_ns;
  auto* h = reinterpret_cast<Handle*>(t->histogram);
  if (h == nullptr) Py_RETURN_FALSE;
  shm::Producer* p = *h->slot;
  if (p == nullptr) return Unavailable(h);
  p->HistogramRecord(h->series_id, static_cast<double>(t->elapsed_ns) * t->scale);
  Py_RETURN_FALSE;
}

PyMethodDef kTimerMethods[] = {
    {"__enter__", TimerEnter, METH_NOARGS, nullptr},
    {"__exit__", AsCFunction(TimerExit), METH_FASTCALL, nullptr},
    {nullptr, nullptr, 0, nullptr},
};
PyMemberDef kTimerMembers[] = {
    {"elapsed_ns", T_LONGLONG, offsetof(Timer, elapsed_ns), READONLY,
     "nanoseconds measured by the last with-block (-1 before it ended)"},
    {"histogram", T_OBJECT, offsetof(Timer, histogram), READONLY, nullptr},
    {"scale", T_DOUBLE, offsetof(Timer, scale), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

bool AddType(PyObject* m, const char* attr, PyType_Spec* spec, PyTypeObject** out) {
  PyObject* type = PyType_FromSpec(spec);
  if (type == nullptr) return false;
  if (out != nullptr) *out = reinterpret_cast<PyTypeObject*>(type);
  // PyModule_AddObject steals the reference on success; keep one for *out.
  Py_INCREF(type);
  if (PyModule_AddObject(m, attr, type) != 0) {
    Py_DECREF(type);
    Py_DECREF(type);
    return false;
  }
  return true;
}

}  // namespace

bool AddHotTypes(PyObject* m) {
  static PyType_Slot counter_slots[8], gauge_slots[8], hist_slots[8];
  static PyType_Spec counter_spec =
      HandleSpec("strobe._strobe.CounterBase", kCounterMethods, kHandleMembers, counter_slots);
  static PyType_Spec gauge_spec =
      HandleSpec("strobe._strobe.GaugeBase", kGaugeMethods, kGaugeMembers, gauge_slots);
  static PyType_Spec hist_spec =
      HandleSpec("strobe._strobe.HistogramBase", kHistogramMethods, kHandleMembers, hist_slots);
  static PyType_Slot timer_slots[] = {
      {Py_tp_new, reinterpret_cast<void*>(TimerNew)},
      {Py_tp_init, reinterpret_cast<void*>(TimerInit)},
      {Py_tp_dealloc, reinterpret_cast<void*>(TimerDealloc)},
      {Py_tp_traverse, reinterpret_cast<void*>(TimerTraverse)},
      {Py_tp_clear, reinterpret_cast<void*>(TimerClear)},
      {Py_tp_methods, kTimerMethods},
      {Py_tp_members, kTimerMembers},
      {0, nullptr},
  };
  static PyType_Spec timer_spec = {"strobe._strobe.Timer", static_cast<int>(sizeof(Timer)), 0,
                                   Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
                                   timer_slots};
  return AddType(m, "CounterBase", &counter_spec, nullptr) &&
         AddType(m, "GaugeBase", &gauge_spec, nullptr) &&
         AddType(m, "HistogramBase", &hist_spec, &g_histogram_type) &&
         AddType(m, "Timer", &timer_spec, nullptr);
}

}  // namespace strobe::python
