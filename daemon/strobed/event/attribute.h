#pragma once

// Attribute keys, values and the key interning table shared by every event type.
//
// Keys are interned once into a KeyTable and carried as a 4-byte KeyId, so processors
// compare keys as integers and never hash strings on the hot path (STYLE.md section 6).
// Values are a 16-byte tagged union of string/bool/int/double/bytes/array/kvlist (the
// OpenTelemetry AnyValue shape). A Value never owns memory: strings and arrays point into
// the arena of the Batch that holds the event (or into storage that outlives it, such as
// string literals or KeyTable names).
//
// Untrusted input and the key table. The table is process-wide and fixed in size, so keys
// sent by one client are a resource every client shares. Receivers therefore intern the keys
// of untrusted input under a KeyBudget: a request may add at most max_new_keys keys that are
// new to the table, and its source (client address, shm ring) at most what its NewKeyQuota
// (key_quota.h) allows in the current window. A key refused for any reason (KeyRefusal) is
// reported to the caller, which must keep what it stores correct: a metric point whose
// identity would lose a label is refused as a whole, a span or log attribute is dropped and
// counted in the element's dropped_attributes_count (docs/security.md, "Key table").
//
// Keys are never reclaimed: a KeyId, once handed out, names the same text for the process's
// lifetime. What reclamation would need is written down before KeyTable below.
//
// Thread class: Value/Attribute are values (thread-compatible). KeyTable is thread-safe:
// lookups of known keys are lock-free; the first sighting of a key takes a mutex. KeyBudget
// is owned by one thread (one request).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"

namespace strobed::event {

struct Attribute;

// An interned attribute key. Ids are dense (0, 1, 2, ...) in the order keys were first seen.
struct KeyId {
  uint32_t index = 0;
  friend bool operator==(KeyId a, KeyId b) { return a.index == b.index; }
  friend bool operator!=(KeyId a, KeyId b) { return a.index != b.index; }
};

enum class ValueType : uint8_t {
  kEmpty = 0,
  kString,
  kBool,
  kInt,
  kDouble,
  kBytes,
  kArray,   // std::span<const Value>
  kKvList,  // std::span<const Attribute>
};

std::string_view ValueTypeName(ValueType type);

class Value {
 public:
  constexpr Value() : i_(0) {}

  // Factories do not copy: the referenced memory must outlive the Value (use an Arena).
  static Value String(std::string_view s) {
    Value v;
    v.type_ = ValueType::kString;
    v.size_ = static_cast<uint32_t>(s.size());
    v.s_ = s.data();
    return v;
  }
  static Value Bool(bool b) {
    Value v;
    v.type_ = ValueType::kBool;
    v.b_ = b;
    return v;
  }
  static Value Int(int64_t i) {
    Value v;
    v.type_ = ValueType::kInt;
    v.i_ = i;
    return v;
  }
  static Value Double(double d) {
    Value v;
    v.type_ = ValueType::kDouble;
    v.d_ = d;
    return v;
  }
  static Value Bytes(std::span<const uint8_t> b) {
    Value v;
    v.type_ = ValueType::kBytes;
    v.size_ = static_cast<uint32_t>(b.size());
    v.u8_ = b.data();
    return v;
  }
  static Value Array(std::span<const Value> a) {
    Value v;
    v.type_ = ValueType::kArray;
    v.size_ = static_cast<uint32_t>(a.size());
    v.a_ = a.data();
    return v;
  }
  static Value KvList(std::span<const Attribute> kv);

  ValueType type() const { return type_; }
  bool empty() const { return type_ == ValueType::kEmpty; }

  // Accessors require the matching type (checked in debug builds only: callers switch on
  // type() first).
  std::string_view AsString() const { return {s_, size_}; }
  bool AsBool() const { return b_; }
  int64_t AsInt() const { return i_; }
  double AsDouble() const { return d_; }
  std::span<const uint8_t> AsBytes() const { return {u8_, size_}; }
  std::span<const Value> AsArray() const { return {a_, size_}; }
  std::span<const Attribute> AsKvList() const;

  // Deep structural equality (strings by content).
  friend bool operator==(const Value& a, const Value& b);

  // A readable rendering for debug output: "abc", 42, 1.5, true, [1, 2], {k=v}.
  std::string ToString() const;

 private:
  ValueType type_ = ValueType::kEmpty;
  uint32_t size_ = 0;
  union {
    int64_t i_;
    double d_;
    bool b_;
    const char* s_;
    const uint8_t* u8_;
    const Value* a_;
    const Attribute* kv_;
  };
};
static_assert(sizeof(Value) == 16);

struct Attribute {
  KeyId key;
  Value value;
};
static_assert(sizeof(Attribute) == 24);

inline Value Value::KvList(std::span<const Attribute> kv) {
  Value v;
  v.type_ = ValueType::kKvList;
  v.size_ = static_cast<uint32_t>(kv.size());
  v.kv_ = kv.data();
  return v;
}
inline std::span<const Attribute> Value::AsKvList() const { return {kv_, size_}; }

// Returns the first attribute with `key`, or nullptr. Linear: attribute lists are short.
inline const Value* FindAttribute(std::span<const Attribute> attrs, KeyId key) {
  for (const Attribute& a : attrs) {
    if (a.key == key) return &a.value;
  }
  return nullptr;
}

// Why KeyTable::Intern refused a key. Self-metrics label refusals with KeyRefusalName.
enum class KeyRefusal : uint8_t {
  kNone = 0,
  kTooLong,       // "key_too_long": longer than the table's max_key_bytes
  kTableFull,     // "key_table_full": the table holds capacity() keys
  kRequestLimit,  // "key_request_limit": the request already added its max_new_keys
  kSourceLimit,   // "key_source_limit": the source used up its NewKeyQuota for the window
};
inline constexpr std::size_t kKeyRefusalCount = 5;
std::string_view KeyRefusalName(KeyRefusal reason);

class NewKeyQuota;

// What one unit of untrusted input (an OTLP request, a shm record) may add to a KeyTable, and
// what it was refused. The caller fills the limits, passes the budget to every
// KeyTable::Intern of that input, and reads the results afterwards. Keys already in the table
// are always resolved and never charged.
struct KeyBudget {
  // Limits.
  uint32_t max_new_keys = UINT32_MAX;  // keys new to the table this input may add
  NewKeyQuota* quota = nullptr;        // per-source quota charged for each new key; null: none
  std::string_view source;             // who `quota` charges (e.g. the client's address)
  uint64_t now_ns = 0;                 // steady time for `quota`'s window

  // Results.
  uint32_t added = 0;                            // new keys added to the table
  uint32_t refused = 0;                          // Intern calls refused, any reason
  uint32_t refused_by[kKeyRefusalCount] = {};    // by KeyRefusal
  KeyRefusal last_refusal = KeyRefusal::kNone;   // the reason of the latest refusal
  KeyRefusal first_refusal = KeyRefusal::kNone;  // the reason of the first refusal
};

// Interns attribute keys. Capacity is fixed at construction so untrusted input (a client
// sending a million distinct keys) cannot grow memory without bound: once full, Intern()
// returns nullopt and counts the rejection. Input from clients is interned under a KeyBudget
// so that no single request or source can fill the table for everyone.
//
// Why keys are not reclaimed (and what it would take). A KeyId is a bare index: nothing
// records who holds one, and the holders outlive any one request:
//   - events in flight: batches in receiver buffers, pipeline queues, the batch processor,
//     exporters' retry queues (Attribute::key, MetricPoint::labels, Resource::attributes);
//   - long-lived state: the shm translator's series (label_keys), the stream engine's
//     compiled rules (group-by keys, predicates, CEP keys), the tail sampler's policies,
//     exporters' cached well-known keys (prometheus: service.*), the demo;
//   - text readers: Name() hands out views into the entry that callers keep while rendering.
// Recycling an id while any of these holds it would make that holder read another key's
// name: exactly the silent relabelling this table must never cause. A sound scheme needs
// (1) an epoch on every admitted batch, with the pool counting live batches per epoch, so a
// sweep at epoch E can wait until every batch admitted before E is released; (2) a
// registration interface through which every long-lived holder reports the keys it still
// holds at each sweep (or pins them with a reference count), with the stream engine, shm
// translator, tail sampler and exporters implementing it; (3) usage marks set on lookup
// (a relaxed store per known key on the hot path, which is the cost to measure); and
// (4) entries freed only after readers of Name() are quiescent (an RCU-style grace period,
// since Name() is lock-free). None of (1)-(4) exists yet; until it does the limits above are
// the defence, and the table never relabels.
class KeyTable {
 public:
  static constexpr std::size_t kDefaultCapacity = std::size_t{1} << 16;
  static constexpr std::size_t kDefaultMaxKeyBytes = 256;

  explicit KeyTable(std::size_t capacity = kDefaultCapacity,
                    std::size_t max_key_bytes = kDefaultMaxKeyBytes);
  ~KeyTable();
  KeyTable(const KeyTable&) = delete;
  KeyTable& operator=(const KeyTable&) = delete;

  // The process-wide table every receiver and processor uses. The well-known keys below are
  // interned first, so their ids are constants.
  static KeyTable& Global();

  // Returns the id of `key`, adding it if new. Lock-free when the key is known. Returns
  // nullopt (and counts) when the table is full or the key is longer than max_key_bytes.
  // Unlimited otherwise: for keys the daemon itself chooses (configuration, well-known keys,
  // tests). Thread-safe.
  std::optional<KeyId> Intern(std::string_view key) noexcept;

  // As above, for untrusted input: a key new to the table is added only when `budget` allows
  // it (max_new_keys not reached, the source's quota not used up). A refusal returns nullopt
  // and is counted here by reason and in `budget`. Known keys resolve lock-free and are never
  // charged, whatever the budget. Thread-safe (the budget is the caller's own).
  std::optional<KeyId> Intern(std::string_view key, KeyBudget& budget) noexcept;

  // Returns the id of `key` if it was interned; never adds. Lock-free. Thread-safe.
  std::optional<KeyId> Find(std::string_view key) const noexcept;

  // The key text for `id` (valid for the table's lifetime). `id` must come from this table.
  std::string_view Name(KeyId id) const noexcept;

  std::size_t size() const noexcept { return size_.load(std::memory_order_acquire); }
  std::size_t capacity() const noexcept { return capacity_; }
  // Keys refused, any reason.
  uint64_t rejected() const noexcept;
  // Keys refused for `reason`.
  uint64_t rejected(KeyRefusal reason) const noexcept {
    return rejected_[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
  }

 private:
  struct Entry {
    uint64_t hash;
    std::string name;
  };
  static uint64_t Hash(std::string_view s) noexcept;
  std::optional<KeyId> Probe(std::string_view key, uint64_t hash) const noexcept;
  // The slow path of both Intern overloads: `key` (hash `hash`) was not found lock-free.
  std::optional<KeyId> InternNew(std::string_view key, uint64_t hash, KeyBudget* budget) noexcept;
  std::nullopt_t Refuse(KeyRefusal reason, KeyBudget* budget) noexcept;

  const std::size_t capacity_;
  const std::size_t max_key_bytes_;
  const std::size_t slot_mask_;  // slots_ has 2 * capacity rounded to a power of two
  // slots_[i] holds id + 1 of the entry hashed there, 0 when empty. Stored (release) after
  // entries_[id] is published; loaded (acquire) by Probe().
  std::unique_ptr<std::atomic<uint32_t>[]> slots_;
  // entries_[id], published with release before the slot that names it.
  std::unique_ptr<std::atomic<const Entry*>[]> entries_;
  std::atomic<std::size_t> size_{0};
  std::atomic<uint64_t> rejected_[kKeyRefusalCount] = {};  // by KeyRefusal; statistic, relaxed
  strobe::Mutex mu_;                                       // serialises inserts
  std::vector<std::unique_ptr<Entry>> owned_ STROBE_GUARDED_BY(mu_);
};

// Well-known keys, interned first into KeyTable::Global() (ids are fixed).
namespace keys {
inline constexpr KeyId kServiceName{0};       // "service.name"
inline constexpr KeyId kHttpStatusCode{1};    // "http.response.status_code"
inline constexpr KeyId kErrorType{2};         // "error.type"
inline constexpr KeyId kSamplingPriority{3};  // "sampling.priority"
}  // namespace keys

}  // namespace strobed::event
