// strobe._strobe — the C++ extension behind the `strobe` Python package.
//
// pybind11 half (this file): the exceptions, `Ring` (one connection = one per-process shm ring,
// strobe::shm::Producer), the cold writes (series definitions, spans, events), the numpy/buffer
// batch writer, PING round trips, and the fork hook. The hot metric calls are plain CPython
// types (hot_types.h) that point into a Ring's RingCore.
//
// Thread class: every entry point runs with the GIL held, which serialises all writes to a
// ring (shm::Producer is owner-thread only). wait_ack() drops the GIL only while sleeping and
// re-checks that the ring is still open after taking it back.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "hot_types.h"
#include "strobe/shm/producer.h"
#include "strobe/shm/ring_abi.h"
#include "strobe/shm/segment.h"
#include "strobe/shm/snapshot.h"

namespace py = pybind11;

namespace strobe::python {
namespace {

[[noreturn]] void Raise(PyObject* type, const std::string& message) {
  PyErr_SetString(type, message.c_str());
  throw py::error_already_set();
}

int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void SleepNs(int64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  nanosleep(&ts, nullptr);
}

void CheckText(std::string_view what, std::string_view s, bool allow_empty) {
  if (!allow_empty && s.empty()) Raise(PyExc_ValueError, std::string(what) + " must not be empty");
  if (s.find('\0') != std::string_view::npos) {
    Raise(PyExc_ValueError, std::string(what) + " must not contain NUL characters");
  }
}

shm::Labels CheckedPairs(std::string_view what, const shm::Labels& pairs) {
  for (const auto& [k, v] : pairs) {
    CheckText(std::string(what) + " key", k, false);
    CheckText(std::string(what) + " value", v, true);
  }
  return pairs;
}

// A C-contiguous 1-D buffer of 8-byte items of the expected kind ('d' float64, 'u' uint64 —
// int64 is accepted for ids and timestamps: the Python layer has rejected negatives).
class Buffer {
 public:
  Buffer(const char* what, PyObject* obj, char kind) {
    if (PyObject_GetBuffer(obj, &view_, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) {
      throw py::error_already_set();
    }
    ok_ = true;
    if (view_.ndim != 1) {
      Raise(PyExc_ValueError, std::string(what) + " must be a 1-D array");
    }
    std::string_view f = view_.format != nullptr ? view_.format : "B";
    if (!f.empty() && (f[0] == '@' || f[0] == '=' || f[0] == '<')) f.remove_prefix(1);
    const bool is_float = f == "d";
    const bool is_int = f == "q" || f == "l" || f == "Q" || f == "L";
    if (view_.itemsize != 8 || (kind == 'd' ? !is_float : !is_int)) {
      Raise(PyExc_TypeError, std::string(what) + " must have dtype " +
                                 (kind == 'd' ? "float64" : "uint64/int64") +
                                 ", got buffer format '" + std::string(f) + "'");
    }
  }
  ~Buffer() {
    if (ok_) PyBuffer_Release(&view_);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  size_t size() const { return static_cast<size_t>(view_.shape[0]); }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(view_.buf);
  }

 private:
  Py_buffer view_{};
  bool ok_ = false;
};

class Ring;

// Rings alive in this process (GIL-protected), for the fork hook: a ring must be detached in
// the child even when only metric handles still reference it.
std::vector<Ring*>& LiveRings() {
  static auto* rings = new std::vector<Ring*>();
  return *rings;
}

class Ring {
 public:
  Ring(const std::string& ring, const std::string& dir, uint64_t capacity_bytes,
       const std::string& policy, uint64_t spin_limit, bool require_daemon, uint32_t mode)
      : ring_(ring), dir_(dir) {
    shm::ProducerOptions o;
    o.ring = ring;
    o.dir = dir;
    o.capacity_bytes = capacity_bytes;
    if (policy == "drop") {
      o.policy = shm::FullPolicy::kDrop;
    } else if (policy == "spin") {
      o.policy = shm::FullPolicy::kSpin;
    } else {
      Raise(PyExc_ValueError, "policy must be 'drop' or 'spin', got '" + policy + "'");
    }
    o.spin_limit = spin_limit;
    o.mode = mode;
    if (!shm::ValidRingName(ring)) {
      Raise(PyExc_ValueError, "ring name '" + ring + "' must match [A-Za-z0-9_.]{1,64}");
    }
    if (require_daemon) {
      const Status s = shm::DaemonStatus(dir, ring);
      if (s.code() == StatusCode::kPermissionDenied) Raise(g_errors.permission_denied, s.message());
      if (!s.ok()) {
        Raise(g_errors.daemon_not_running,
              "strobe daemon is not running for ring '" + ring + "' in " + dir + " (no live " +
                  shm::DaemonMarkerPath(dir, ring) +
                  "); start `strobe serve` or pass require_daemon=False");
      }
    }
    auto p = shm::Producer::Connect(o);
    if (!p.ok()) {
      const StatusCode code = p.status().code();
      PyObject* type = code == StatusCode::kInvalidArgument    ? PyExc_ValueError
                       : code == StatusCode::kPermissionDenied ? g_errors.permission_denied
                                                               : g_errors.strobe_error;
      Raise(type, p.status().message());
    }
    core_.producer = std::move(*p);
    core_.raw = core_.producer.get();
    LiveRings().push_back(this);
  }

  ~Ring() {
    auto& live = LiveRings();
    live.erase(std::remove(live.begin(), live.end(), this), live.end());
    if (!core_.forked) Close();
  }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  RingCore& core() { return core_; }

  shm::Producer& Live() {
    if (core_.raw == nullptr) {
      Raise(g_errors.connection_closed,
            core_.forked ? "strobe connection belongs to the parent process (fork): call "
                           "strobe.connect() in the child"
                         : "strobe connection is closed");
    }
    return *core_.raw;
  }

  void Close() {
    core_.raw = nullptr;
    core_.producer.reset();  // marks the ring closed; the daemon drains and removes it
  }
  bool closed() const { return core_.raw == nullptr; }

  // Cold path: a definition must not be lost (the points of an undefined series are
  // rejected), so a full ring is waited on (GIL released) up to `timeout_s`.
  // `description`, `unit` (UCUM) and `bounds` (explicit histogram buckets) go in the
  // definition's metadata block (ring_abi.h), written only when one of them is set.
  uint64_t DefineSeries(int kind, const std::string& name, const shm::Labels& labels,
                        double timeout_s, const std::string& description, const std::string& unit,
                        const std::vector<double>& bounds) {
    if (kind < STROBE_KIND_COUNTER || kind > STROBE_KIND_HISTOGRAM) {
      Raise(PyExc_ValueError, "unknown series kind " + std::to_string(kind));
    }
    CheckText("metric name", name, false);
    CheckedPairs("label", labels);
    CheckText("description", description, true);
    CheckText("unit", unit, true);
    if (description.size() > STROBE_DEFINE_MAX_DESCRIPTION) {
      Raise(PyExc_ValueError, "description is longer than " +
                                  std::to_string(STROBE_DEFINE_MAX_DESCRIPTION) + " bytes");
    }
    if (unit.size() > STROBE_DEFINE_MAX_UNIT) {
      Raise(PyExc_ValueError,
            "unit is longer than " + std::to_string(STROBE_DEFINE_MAX_UNIT) + " bytes");
    }
    if (bounds.size() > STROBE_DEFINE_MAX_BOUNDS) {
      Raise(PyExc_ValueError,
            "at most " + std::to_string(STROBE_DEFINE_MAX_BOUNDS) + " histogram buckets");
    }
    if (!bounds.empty() && kind != STROBE_KIND_HISTOGRAM) {
      Raise(PyExc_ValueError, "buckets apply to histograms only");
    }
    for (size_t i = 0; i < bounds.size(); ++i) {
      if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
        Raise(PyExc_ValueError, "histogram buckets must be finite and strictly increasing");
      }
    }
    const shm::SeriesMeta meta{description, unit, bounds};
    const int64_t deadline = MonotonicNs() + static_cast<int64_t>(timeout_s * 1e9);
    int64_t sleep_ns = 20000;
    for (;;) {
      const uint64_t id =
          Live().DefineSeries(static_cast<strobe_series_kind>(kind), name, labels, meta);
      if (id != 0) return id;
      if (MonotonicNs() > deadline) {
        Raise(g_errors.ring_full, "cannot define series '" + name +
                                      "': the ring stayed full (is the daemon consuming?) or "
                                      "the definition exceeds one record");
      }
      {
        py::gil_scoped_release nogil;
        SleepNs(sleep_ns);
      }
      sleep_ns = std::min<int64_t>(sleep_ns * 2, 2000000);
    }
  }

  bool Span(const py::bytes& trace_id, uint64_t span_id, uint64_t parent_span_id, uint64_t start_ns,
            uint64_t end_ns, const std::string& name, const shm::Labels& attributes) {
    const std::string_view tid = trace_id;
    if (tid.size() != 16) Raise(PyExc_ValueError, "trace_id must be 16 bytes");
    if (span_id == 0) Raise(PyExc_ValueError, "span_id must be non-zero");
    CheckText("span name", name, false);
    CheckedPairs("attribute", attributes);
    return Live().Span(reinterpret_cast<const uint8_t*>(tid.data()), span_id, parent_span_id,
                       start_ns, end_ns, name, attributes);
  }

  bool Event(uint64_t timestamp_ns, const std::string& name, const shm::Labels& attributes) {
    CheckText("event name", name, false);
    CheckedPairs("attribute", attributes);
    return Live().Event(timestamp_ns, name, attributes);
  }

  // BATCH records straight from the buffers (no intermediate copy): `series` is an int (one
  // series for every value) or a uint64/int64 array as long as `values`.
  size_t Batch(int kind, const py::handle& series, const py::handle& values,
               const py::handle& timestamps) {
    if (kind < STROBE_KIND_COUNTER || kind > STROBE_KIND_HISTOGRAM) {
      Raise(PyExc_ValueError, "unknown series kind " + std::to_string(kind));
    }
    shm::Producer& p = Live();
    Buffer vals("values", values.ptr(), 'd');
    const size_t n = vals.size();
    std::unique_ptr<Buffer> ids, ts;
    uint64_t single_id = 0;
    if (PyLong_Check(series.ptr())) {
      single_id = series.cast<uint64_t>();
    } else {
      ids = std::make_unique<Buffer>("series_ids", series.ptr(), 'u');
      if (ids->size() != n) Raise(PyExc_ValueError, "series_ids and values differ in length");
    }
    if (!timestamps.is_none()) {
      ts = std::make_unique<Buffer>("timestamps", timestamps.ptr(), 'u');
      if (ts->size() != n) Raise(PyExc_ValueError, "timestamps and values differ in length");
    }
    return WriteBatch(p, static_cast<uint32_t>(kind), ids ? ids->data<uint64_t>() : nullptr,
                      single_id, vals.data<double>(), ts ? ts->data<uint64_t>() : nullptr, n);
  }

  // Writes a PING with the next sequence number and returns it (RingFull if dropped).
  uint64_t Ping() {
    const uint64_t seq = next_seq_;
    if (!Live().Ping(seq)) Raise(g_errors.ring_full, "ping dropped: the ring is full");
    ++next_seq_;
    return seq;
  }
  uint64_t AckSeq() { return Live().AckSeq(); }
  // Records the daemon read and refused (ring header rejected_records; see flush()).
  uint64_t RejectedRecords() { return Live().RejectedRecords(); }

  // The same COUNTER_ADD as CounterBase.inc(), bound the ordinary pybind11 way. Kept as the
  // in-run baseline of bench/python/bench_client.py (what the binding layer alone costs).
  bool CounterAdd(uint64_t series_id, uint64_t delta) {
    return Live().CounterAdd(series_id, delta);
  }

  // Waits until the consumer acknowledged `seq`: busy-polls ack_seq for `spin_s` with the GIL
  // held (lowest latency; spin_s = 0 skips it), then sleeps with the GIL released, backing off
  // from 10 us to 1 ms. Returns false on timeout.
  bool WaitAck(uint64_t seq, double timeout_s, double spin_s) {
    const int64_t start = MonotonicNs();
    const int64_t spin_end = start + static_cast<int64_t>(spin_s * 1e9);
    const int64_t deadline = start + static_cast<int64_t>(timeout_s * 1e9);
    uint32_t i = 0;
    while (spin_s > 0 && Live().AckSeq() < seq) {
      if ((++i & 63) != 0) continue;  // read the clock every 64 polls
      if (MonotonicNs() >= spin_end) break;
    }
    int64_t sleep_ns = 10000;
    while (Live().AckSeq() < seq) {
      if (MonotonicNs() >= deadline) return false;
      {
        py::gil_scoped_release nogil;
        SleepNs(sleep_ns);
      }
      sleep_ns = std::min<int64_t>(sleep_ns * 2, 1000000);
    }
    return true;
  }

  uint64_t dropped_records() { return Live().DroppedRecords(); }
  std::string path() { return Live().path(); }
  uint64_t capacity_bytes() { return Live().capacity_bytes(); }
  const std::string& ring() const { return ring_; }
  const std::string& dir() const { return dir_; }

  void AfterForkInChild() {
    core_.raw = nullptr;
    // The parent still writes this ring: release without the destructor (which would mark
    // the parent's ring closed). The mapping stays until exec/exit; it is the parent's.
    static_cast<void>(core_.producer.release());
    core_.forked = true;
  }

 private:
  static size_t WriteBatch(shm::Producer& p, uint32_t kind, const uint64_t* ids, uint64_t single_id,
                           const double* values, const uint64_t* ts, size_t count) {
    constexpr size_t kEntry = 24;
    const size_t max_per = std::min<size_t>((STROBE_RECORD_MAX_PAYLOAD - 8) / kEntry,
                                            (p.capacity_bytes() / 8 - 16) / kEntry);
    size_t done = 0;
    while (done < count) {
      const size_t n = std::min(max_per, count - done);
      uint8_t* dst = p.Reserve(STROBE_REC_BATCH, static_cast<uint32_t>(8 + n * kEntry));
      if (dst == nullptr) break;  // dropped and counted by the producer (policy)
      const uint32_t n32 = static_cast<uint32_t>(n);
      std::memcpy(dst, &n32, 4);
      std::memcpy(dst + 4, &kind, 4);
      uint8_t* e = dst + 8;
      for (size_t i = done; i < done + n; ++i, e += kEntry) {
        const uint64_t id = ids != nullptr ? ids[i] : single_id;
        const uint64_t t = ts != nullptr ? ts[i] : 0;
        std::memcpy(e, &id, 8);
        std::memcpy(e + 8, &t, 8);
        std::memcpy(e + 16, &values[i], 8);
      }
      p.Commit();
      done += n;
    }
    return done;
  }

  RingCore core_;
  std::string ring_;
  std::string dir_;
  uint64_t next_seq_ = 1;
};

PyObject* NewError(const char* name, PyObject* bases, const char* doc) {
  PyObject* e = PyErr_NewExceptionWithDoc(name, doc, bases, nullptr);
  if (e == nullptr) throw py::error_already_set();
  return e;
}

}  // namespace

RingCore* RingCoreFromObject(PyObject* owner) {
  try {
    return &py::cast<Ring&>(py::handle(owner)).core();
  } catch (const py::cast_error&) {
    PyErr_Format(PyExc_TypeError, "expected a strobe._strobe.Ring, got %.100s",
                 Py_TYPE(owner)->tp_name);
    return nullptr;
  }
}

}  // namespace strobe::python

PYBIND11_MODULE(_strobe, m) {
  using strobe::python::g_errors;
  using strobe::python::Ring;
  m.doc() = "strobe C++ extension: shared-memory ring writer and hot metric handles";

  g_errors.strobe_error = strobe::python::NewError("strobe.StrobeError", PyExc_Exception,
                                                   "Base class of strobe's exceptions.");
  py::tuple daemon_bases =
      py::make_tuple(py::handle(g_errors.strobe_error), py::handle(PyExc_ConnectionError));
  g_errors.daemon_not_running = strobe::python::NewError(
      "strobe.DaemonNotRunning", daemon_bases.ptr(),
      "No live strobe daemon (consumer) for the ring: connect() found no daemon marker.");
  g_errors.connection_closed = strobe::python::NewError(
      "strobe.ConnectionClosed", g_errors.strobe_error,
      "The connection was closed (or belongs to the parent of a forked process).");
  g_errors.ring_full = strobe::python::NewError(
      "strobe.RingFull", g_errors.strobe_error,
      "A record that must not be lost (series definition, ping) did not fit in the ring.");
  m.attr("StrobeError") = py::handle(g_errors.strobe_error);
  m.attr("DaemonNotRunning") = py::handle(g_errors.daemon_not_running);
  m.attr("ConnectionClosed") = py::handle(g_errors.connection_closed);
  m.attr("RingFull") = py::handle(g_errors.ring_full);
  py::tuple permission_bases =
      py::make_tuple(py::handle(g_errors.strobe_error), py::handle(PyExc_PermissionError));
  g_errors.permission_denied = strobe::python::NewError(
      "strobe.PermissionDenied", permission_bases.ptr(),
      "The ring (its directory, the daemon marker or the segment file) is not accessible to "
      "this user (EACCES/EPERM): typically the daemon runs as another user. The message names "
      "the path.");
  m.attr("PermissionDenied") = py::handle(g_errors.permission_denied);

  if (!strobe::python::AddHotTypes(m.ptr())) throw py::error_already_set();

  m.attr("KIND_COUNTER") = static_cast<int>(STROBE_KIND_COUNTER);
  m.attr("KIND_GAUGE") = static_cast<int>(STROBE_KIND_GAUGE);
  m.attr("KIND_HISTOGRAM") = static_cast<int>(STROBE_KIND_HISTOGRAM);
  m.attr("RING_VERSION") = static_cast<int>(STROBE_RING_VERSION);

  py::class_<Ring>(m, "Ring", "One connection: this process's shm ring (strobe::shm::Producer).")
      .def(py::init<const std::string&, const std::string&, uint64_t, const std::string&, uint64_t,
                    bool, uint32_t>(),
           py::arg("ring"), py::arg("dir"), py::arg("capacity_bytes"), py::arg("policy"),
           py::arg("spin_limit"), py::arg("require_daemon"), py::arg("mode"))
      .def("close", &Ring::Close)
      .def_property_readonly("closed", &Ring::closed)
      .def("define_series", &Ring::DefineSeries, py::arg("kind"), py::arg("name"),
           py::arg("labels"), py::arg("timeout_s"), py::arg("description") = std::string(),
           py::arg("unit") = std::string(), py::arg("bounds") = std::vector<double>())
      .def("span", &Ring::Span)
      .def("event", &Ring::Event)
      .def("batch", &Ring::Batch, py::arg("kind"), py::arg("series"), py::arg("values"),
           py::arg("timestamps"))
      .def("ping", &Ring::Ping)
      .def("ack_seq", &Ring::AckSeq)
      .def("rejected_records", &Ring::RejectedRecords)
      .def("counter_add", &Ring::CounterAdd, py::arg("series_id"), py::arg("delta") = 1)
      .def("wait_ack", &Ring::WaitAck, py::arg("seq"), py::arg("timeout_s"), py::arg("spin_s"))
      .def_property_readonly("dropped_records", &Ring::dropped_records)
      .def_property_readonly("path", &Ring::path)
      .def_property_readonly("capacity_bytes", &Ring::capacity_bytes)
      .def_property_readonly("ring", &Ring::ring)
      .def_property_readonly("dir", &Ring::dir)
      .def("_after_fork_in_child", &Ring::AfterForkInChild);

  // The daemon's results snapshot: (generation, time_unix_ns, writer_pid, document bytes).
  // Not a hot path; the copy runs without the GIL.
  m.def(
      "_read_snapshot",
      [](const std::string& dir, const std::string& ring) {
        strobe::Result<strobe::shm::Snapshot> snap = strobe::InvalidArgument("unset");
        {
          py::gil_scoped_release unlocked;
          auto reader = strobe::shm::SnapshotReader::Open(dir, ring);
          snap =
              reader.ok() ? reader->Read() : strobe::Result<strobe::shm::Snapshot>(reader.status());
        }
        if (!snap.ok()) {
          const strobe::StatusCode code = snap.status().code();
          strobe::python::Raise(
              code == strobe::StatusCode::kNotFound || code == strobe::StatusCode::kUnavailable
                  ? g_errors.daemon_not_running
                  : g_errors.strobe_error,
              snap.status().message());
        }
        return py::make_tuple(snap->generation, snap->time_unix_ns, snap->writer_pid,
                              py::bytes(snap->document));
      },
      py::arg("dir"), py::arg("ring"));

  // Called by the package's os.register_at_fork(after_in_child=...) hook.
  m.def("_after_fork_in_child", [] {
    for (Ring* r : strobe::python::LiveRings()) r->AfterForkInChild();
  });
}
