#include "strobe/trace/shm_span_sink.h"

#include <pthread.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace strobe::trace {
namespace {

std::atomic<uint64_t> g_next_sink_id{1};
constexpr uint32_t kPidBits = 22;  // pid_max is at most 2^22 on Linux
constexpr uint32_t kSlots = 1024;  // ring ids pid + k * 2^22, k in [1, 1024)

// Which per-thread ring slots are in use in this process (bit k = slot k; slot 0 is the pid
// itself, left to other producers). Taken on a thread's first span, given back at thread exit.
std::atomic<uint64_t> g_slots[kSlots / 64] = {{1}, {}, {}, {}, {}, {}, {}, {},
                                              {},  {}, {}, {}, {}, {}, {}, {}};

uint32_t TakeSlot(uint32_t from) {
  for (uint32_t k = from; k < kSlots; ++k) {
    std::atomic<uint64_t>& word = g_slots[k / 64];
    const uint64_t bit = uint64_t{1} << (k % 64);
    if ((word.fetch_or(bit, std::memory_order_relaxed) & bit) == 0) return k;
  }
  return 0;  // all taken
}

void GiveSlot(uint32_t k) {
  g_slots[k / 64].fetch_and(~(uint64_t{1} << (k % 64)), std::memory_order_relaxed);
}

// Bumped in a forked child: rings inherited from the parent belong to the parent (it keeps
// writing them); the child detaches them and creates its own.
std::atomic<uint32_t> g_fork_generation{0};
std::once_flag g_atfork_once;

void AfterForkInChild() {
  // Relaxed: the child has one thread at this point.
  g_fork_generation.fetch_add(1, std::memory_order_relaxed);
  g_slots[0].store(1, std::memory_order_relaxed);
  for (uint32_t w = 1; w < kSlots / 64; ++w) g_slots[w].store(0, std::memory_order_relaxed);
}

// The rings of one thread, one per sink it has ended spans into. Closed, and their slots
// given back, at thread exit.
struct ThreadRing {
  uint64_t sink_id;
  uint32_t slot;
  std::unique_ptr<shm::Producer> producer;
};
struct ThreadRings {
  std::vector<ThreadRing> rings;
  uint32_t generation = 0;
  // After fork(): forget the parent's rings without closing them (no destructor: that would
  // mark the parent's ring closed; the mappings stay until exec/exit).
  void DetachIfForked() noexcept {
    const uint32_t g = g_fork_generation.load(std::memory_order_relaxed);
    if (__builtin_expect(g == generation, 1)) return;
    for (ThreadRing& r : rings) static_cast<void>(r.producer.release());
    rings.clear();
    generation = g;
  }
  ~ThreadRings() {
    DetachIfForked();
    for (ThreadRing& r : rings) {
      r.producer.reset();  // marks the ring closed; the daemon drains and removes it
      GiveSlot(r.slot);
    }
  }
};
thread_local ThreadRings t_rings;

uint64_t BigEndian(const uint8_t* b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | b[i];
  return v;
}

const char* KindName(SpanKind k) {
  switch (k) {
    case SpanKind::kServer:
      return "server";
    case SpanKind::kClient:
      return "client";
    case SpanKind::kProducer:
      return "producer";
    case SpanKind::kConsumer:
      return "consumer";
    default:
      return "internal";
  }
}

// One "key\0value\0" pair to write. Values that are numbers are formatted into `buf`.
struct Pair {
  std::string_view key;
  std::string_view value;
  char buf[32];
};

bool Usable(std::string_view s) { return s.find('\0') == std::string_view::npos; }

// Collects the attributes owned by `owner` (0: the span, i + 1: event i) as text pairs.
size_t CollectPairs(const SpanRecord& r, uint8_t owner, Pair* out, size_t cap) noexcept {
  size_t n = 0;
  for (int i = 0; i < r.attr_count && n < cap; ++i) {
    const AttrSlot& a = r.attrs[i];
    if (a.owner != owner) continue;
    Pair& p = out[n];
    p.key = r.Str(a.key);
    if (p.key.empty() || !Usable(p.key)) continue;
    switch (a.type) {
      case AttrType::kString:
        p.value = r.Str(a.str);
        if (!Usable(p.value)) continue;
        break;
      case AttrType::kBool:
        p.value = a.v.b ? "true" : "false";
        break;
      case AttrType::kInt: {
        auto res = std::to_chars(p.buf, p.buf + sizeof p.buf, a.v.i);
        p.value = {p.buf, static_cast<size_t>(res.ptr - p.buf)};
        break;
      }
      case AttrType::kDouble: {
        auto res = std::to_chars(p.buf, p.buf + sizeof p.buf, a.v.d);
        p.value = {p.buf, static_cast<size_t>(res.ptr - p.buf)};
        break;
      }
    }
    ++n;
  }
  return n;
}

size_t PairBytes(const Pair* pairs, size_t n) {
  size_t bytes = 0;
  for (size_t i = 0; i < n; ++i) bytes += pairs[i].key.size() + pairs[i].value.size() + 2;
  return bytes;
}

uint8_t* PutPairs(uint8_t* d, const Pair* pairs, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(d, pairs[i].key.data(), pairs[i].key.size());
    d += pairs[i].key.size();
    *d++ = 0;
    std::memcpy(d, pairs[i].value.data(), pairs[i].value.size());
    d += pairs[i].value.size();
    *d++ = 0;
  }
  return d;
}

template <typename T>
uint8_t* Put(uint8_t* d, T v) {
  std::memcpy(d, &v, sizeof v);
  return d + sizeof v;
}

constexpr size_t kMaxPairs = SpanRecord::kMaxAttributes + 4;

}  // namespace

ShmSpanSink::ShmSpanSink(ShmSpanSinkOptions options)
    : options_(std::move(options)), id_(g_next_sink_id.fetch_add(1)) {}

ShmSpanSink::~ShmSpanSink() = default;

Result<std::unique_ptr<ShmSpanSink>> ShmSpanSink::Create(ShmSpanSinkOptions options) {
  if (!shm::ValidRingName(options.ring)) {
    return InvalidArgument("shm ring name '" + options.ring + "' must match [A-Za-z0-9_.]{1,64}");
  }
  if (!Usable(options.service_name)) return InvalidArgument("service_name contains NUL");
  if (options.require_daemon && !shm::DaemonAlive(options.dir, options.ring)) {
    return Unavailable("strobe daemon is not running for shm ring '" + options.ring +
                       "' (no live " + shm::DaemonMarkerPath(options.dir, options.ring) + ")");
  }
  std::call_once(g_atfork_once, [] { pthread_atfork(nullptr, nullptr, &AfterForkInChild); });
  return std::unique_ptr<ShmSpanSink>(new ShmSpanSink(std::move(options)));
}

shm::Producer* ShmSpanSink::ThreadProducer() noexcept {
  t_rings.DetachIfForked();
  for (ThreadRing& r : t_rings.rings) {
    if (r.sink_id == id_) return r.producer.get();
  }
  // First span of this thread for this sink: create its ring (cold path). A slot whose old
  // segment still exists (not yet removed by the daemon) is skipped.
  shm::ProducerOptions o;
  o.ring = options_.ring;
  o.dir = options_.dir;
  o.capacity_bytes = options_.capacity_bytes;
  o.policy = options_.policy;
  o.spin_limit = options_.spin_limit;
  try {
    uint32_t from = 1;
    for (int attempt = 0; attempt < 8; ++attempt) {
      const uint32_t slot = TakeSlot(from);
      if (slot == 0) return nullptr;
      o.instance = static_cast<uint32_t>(getpid()) + (slot << kPidBits);
      auto p = shm::Producer::Connect(o);
      if (p.ok()) {
        t_rings.rings.push_back({id_, slot, std::move(*p)});
        return t_rings.rings.back().producer.get();
      }
      GiveSlot(slot);
      from = slot + 1;
    }
  } catch (...) {  // allocation failure: drop and count, never throw from a sink
  }
  return nullptr;
}

bool ShmSpanSink::WriteSpan(shm::Producer& p, const SpanRecord& r) noexcept {
  Pair pairs[kMaxPairs];
  size_t n = CollectPairs(r, 0, pairs, SpanRecord::kMaxAttributes);
  pairs[n].key = "span.kind";
  pairs[n++].value = KindName(r.kind);
  if (r.status != SpanStatus::kUnset) {
    pairs[n].key = "otel.status_code";
    pairs[n++].value = r.status == SpanStatus::kError ? "ERROR" : "OK";
    std::string_view msg = r.Str(r.status_message);
    if (!msg.empty() && Usable(msg)) {
      pairs[n].key = "otel.status_description";
      pairs[n++].value = msg;
    }
  }
  if (!options_.service_name.empty()) {
    pairs[n].key = "service.name";
    pairs[n++].value = options_.service_name;
  }
  std::string_view name = r.Name();
  if (name.empty() || !Usable(name)) name = "unnamed";
  const size_t attr_bytes = PairBytes(pairs, n);
  const size_t length = 16 + 8 * 4 + 8 + name.size() + attr_bytes;
  if (length > STROBE_RECORD_MAX_PAYLOAD) return false;
  uint8_t* d = p.Reserve(STROBE_REC_SPAN, static_cast<uint32_t>(length));
  if (d == nullptr) return false;
  std::memcpy(d, r.context.trace_id.bytes.data(), 16);
  d = Put(d + 16, BigEndian(r.context.span_id.bytes.data()));
  d = Put(d, BigEndian(r.parent_span_id.bytes.data()));
  d = Put(d, r.start_unix_ns);
  d = Put(d, r.end_unix_ns < r.start_unix_ns ? r.start_unix_ns : r.end_unix_ns);
  d = Put(d, static_cast<uint32_t>(name.size()));
  d = Put(d, static_cast<uint32_t>(attr_bytes));
  std::memcpy(d, name.data(), name.size());
  PutPairs(d + name.size(), pairs, n);
  p.Commit();
  return true;
}

void ShmSpanSink::WriteEvents(shm::Producer& p, const SpanRecord& r) noexcept {
  char trace_hex[32], span_hex[16];
  r.context.trace_id.ToHex(trace_hex);
  r.context.span_id.ToHex(span_hex);
  for (int e = 0; e < r.event_count; ++e) {
    const EventSlot& ev = r.events[e];
    Pair pairs[kMaxPairs];
    size_t n = CollectPairs(r, static_cast<uint8_t>(e + 1), pairs, SpanRecord::kMaxAttributes);
    pairs[n].key = "trace_id";
    pairs[n++].value = {trace_hex, 32};
    pairs[n].key = "span_id";
    pairs[n++].value = {span_hex, 16};
    std::string_view name = r.Str(ev.name);
    if (name.empty() || !Usable(name)) name = "event";
    const size_t attr_bytes = PairBytes(pairs, n);
    const size_t length = 16 + name.size() + attr_bytes;
    uint8_t* d = length <= STROBE_RECORD_MAX_PAYLOAD
                     ? p.Reserve(STROBE_REC_EVENT, static_cast<uint32_t>(length))
                     : nullptr;
    if (d == nullptr) {
      events_dropped_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    d = Put(d, ev.time_unix_ns);
    d = Put(d, static_cast<uint32_t>(name.size()));
    d = Put(d, static_cast<uint32_t>(attr_bytes));
    std::memcpy(d, name.data(), name.size());
    PutPairs(d + name.size(), pairs, n);
    p.Commit();
  }
}

void ShmSpanSink::Consume(const SpanRecord& record) noexcept {
  shm::Producer* p = ThreadProducer();
  if (p == nullptr || !WriteSpan(*p, record)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    events_dropped_.fetch_add(record.event_count, std::memory_order_relaxed);
    return;
  }
  if (record.event_count > 0) WriteEvents(*p, record);
  if (record.link_count > 0) links_dropped_.fetch_add(record.link_count, std::memory_order_relaxed);
}

}  // namespace strobe::trace
