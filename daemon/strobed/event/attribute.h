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
// Thread class: Value/Attribute are values (thread-compatible). KeyTable is thread-safe:
// lookups of known keys are lock-free; the first sighting of a key takes a mutex.

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

// Interns attribute keys. Capacity is fixed at construction so untrusted input (a client
// sending a million distinct keys) cannot grow memory without bound: once full, Intern()
// returns nullopt and counts the rejection; callers drop that attribute and count it.
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
  // Thread-safe.
  std::optional<KeyId> Intern(std::string_view key) noexcept;

  // Returns the id of `key` if it was interned; never adds. Lock-free. Thread-safe.
  std::optional<KeyId> Find(std::string_view key) const noexcept;

  // The key text for `id` (valid for the table's lifetime). `id` must come from this table.
  std::string_view Name(KeyId id) const noexcept;

  std::size_t size() const noexcept { return size_.load(std::memory_order_acquire); }
  std::size_t capacity() const noexcept { return capacity_; }
  // Keys refused because the table was full or the key too long.
  uint64_t rejected() const noexcept { return rejected_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    uint64_t hash;
    std::string name;
  };
  static uint64_t Hash(std::string_view s) noexcept;
  std::optional<KeyId> Probe(std::string_view key, uint64_t hash) const noexcept;

  const std::size_t capacity_;
  const std::size_t max_key_bytes_;
  const std::size_t slot_mask_;  // slots_ has 2 * capacity rounded to a power of two
  // slots_[i] holds id + 1 of the entry hashed there, 0 when empty. Stored (release) after
  // entries_[id] is published; loaded (acquire) by Probe().
  std::unique_ptr<std::atomic<uint32_t>[]> slots_;
  // entries_[id], published with release before the slot that names it.
  std::unique_ptr<std::atomic<const Entry*>[]> entries_;
  std::atomic<std::size_t> size_{0};
  std::atomic<uint64_t> rejected_{0};  // statistic only; relaxed
  strobe::Mutex mu_;                   // serialises inserts
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
