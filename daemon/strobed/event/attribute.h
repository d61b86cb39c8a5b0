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
// Keys interned without a budget (configuration, well-known keys, the daemon's own) are
// permanent. Keys interned under a KeyBudget (untrusted input) are reclaimable: KeyTable::Sweep
// frees the ones no holder can still see, so a flood of one-off keys does not fill the table for
// good. Why that never relabels is written down before KeyTable below.
//
// Thread class: Value/Attribute are values (thread-compatible). KeyTable is thread-safe:
// lookups of known keys are lock-free; the first sighting of a key takes a mutex; sweeps are
// serialised. KeyBudget is owned by one thread (one request).

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

// An interned attribute key. Ids are dense (0, 1, 2, ...) in the order keys were first seen;
// an id freed by KeyTable::Sweep is handed out again.
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
// so that no single request or source can fill the table for everyone, and Sweep() reclaims
// the keys of untrusted input once nothing can hold them any more.
//
// Who holds a KeyId, and why recycling one is sound. A KeyId is a bare index; a recycled id
// read by a holder of the old one would relabel data, so an id is recycled only when no holder
// of any kind can still have it:
//   - Permanent keys are never reclaimed: keys interned without a budget (configuration: the
//     stream engine's rules, the tail sampler's policies, exporters' well-known keys, the
//     daemon's own identity keys, the demo) and keys interned with InternPinned (holders that
//     keep ids for their lifetime: the shm translator's series label_keys, which live as long
//     as the daemon). Interning a reclaimable key without a budget makes it permanent.
//   - Events in flight carry ids in batches. Every event::Batch registers the table's epoch
//     when it is handed out (EnterEpoch) and leaves it when it goes back to its pool; the
//     table counts live batches per epoch (kEpochSlots slots, so at most that many epochs are
//     live at once). Ids move between batches only by Append (the adopted batch stays live
//     and registered) or EventCopier (the copy takes the older of the two epochs: LowerEpoch).
//     Everything that keeps events past a call keeps them in batches (pipeline queues, the
//     batch processor, the tail sampler's buffered traces, exporters' retry copies).
//   - Long-lived state that is not a batch keeps key *text*, not ids: the trace store's
//     stored spans and the Prometheus exporter's series copy Name() when they take an event
//     in; the stream engine groups by values of configured (permanent) keys.
// A sweep (1) unlinks every reclaimable key whose usage mark (the epoch of its latest lookup,
// a relaxed store made only when it changes) is older than the oldest live batch: the key
// leaves the hash index, so later lookups of its text make a new id, but the old id still
// names its text; (2) advances the epoch when the slot of the next one is empty; (3) recycles
// a key unlinked at epoch U once no batch registered at U or earlier is live. A lookup that
// raced with (1) and still found the key did so for a batch registered at U or earlier: the
// batch read the epoch before the lookup, and the sweep publishes the new index before it
// advances the epoch (seq_cst), so a batch registered later cannot see the old index. The
// usage mark only keeps keys that are in use from being unlinked and re-made (churn);
// soundness does not depend on it.
//
// Readers of table memory. Name(id) is lock-free and reads the entry of `id`; its caller holds
// the id (in a live batch, or permanently), so the entry outlives the read. Lookups
// (Intern, Find) read entries and hash-index arrays they do not hold: they run inside a
// ReadSection, and a sweep deletes unlinked entries and replaced index arrays, and hands
// recycled ids out again, only after a grace period in which every ReadSection that began
// before the unlink has ended (Synchronize: a phase flip and a wait on striped reader
// counters; seq_cst on both sides, no fences, so TSan checks it). A ReadSection nests: the OTLP
// decoders open one per request, so the per-key cost is a thread-local check.
class KeyTable {
 public:
  static constexpr std::size_t kDefaultCapacity = std::size_t{1} << 16;
  static constexpr std::size_t kDefaultMaxKeyBytes = 256;
  // Epochs that may have live batches at once (a batch older than this many sweeps keeps the
  // epoch from advancing, which delays reclamation but never makes it unsound).
  static constexpr uint32_t kEpochSlots = 4;

  explicit KeyTable(std::size_t capacity = kDefaultCapacity,
                    std::size_t max_key_bytes = kDefaultMaxKeyBytes);
  ~KeyTable();
  KeyTable(const KeyTable&) = delete;
  KeyTable& operator=(const KeyTable&) = delete;

  // The process-wide table every receiver and processor uses. The well-known keys below are
  // interned first, so their ids are constants.
  static KeyTable& Global();

  // Returns the id of `key`, adding it if new; the key is permanent (never reclaimed) from now
  // on, also when it was a reclaimable key before. Lock-free when the key is known and already
  // permanent. Returns nullopt (and counts) when the table is full or the key is longer than
  // max_key_bytes. Unlimited otherwise: for keys the daemon itself chooses (configuration,
  // well-known keys, tests). Thread-safe.
  std::optional<KeyId> Intern(std::string_view key) noexcept {
    return ToKeyId(InternIndex<true>(key, nullptr));
  }

  // As above, for untrusted input: a key new to the table is added only when `budget` allows
  // it (max_new_keys not reached, the source's quota not used up), and it is reclaimable. A
  // refusal returns nullopt and is counted here by reason and in `budget`. Known keys resolve
  // lock-free and are never charged, whatever the budget. The id stays valid while the caller
  // holds a batch of this table registered before the call (the event::Batch the key goes
  // into) or stays inside a ReadSection opened before the call. Thread-safe (the budget is the
  // caller's own).
  std::optional<KeyId> Intern(std::string_view key, KeyBudget& budget) noexcept {
    return ToKeyId(InternIndex<false>(key, &budget));
  }

  // As Intern(key, budget), but the key becomes permanent: for holders that keep the id for
  // their lifetime outside any batch (the shm translator's series). Thread-safe.
  std::optional<KeyId> InternPinned(std::string_view key, KeyBudget& budget) noexcept {
    return ToKeyId(InternIndex<true>(key, &budget));
  }

  // Returns the id of `key` if it is in the table; never adds, never marks. Lock-free. For a
  // reclaimable key the id is valid under the same conditions as Intern(key, budget)'s.
  // Thread-safe.
  std::optional<KeyId> Find(std::string_view key) const noexcept;

  // The key text for `id`, valid while the caller holds `id` (see above: a permanent key, or a
  // live batch that carries it); empty for an id that names no key. Lock-free. Thread-safe.
  std::string_view Name(KeyId id) const noexcept;

  // Keys in the table (permanent, reclaimable, and unlinked ones not yet recycled).
  std::size_t size() const noexcept { return size_.load(std::memory_order_acquire); }
  std::size_t capacity() const noexcept { return capacity_; }
  // Keys refused, any reason.
  uint64_t rejected() const noexcept;
  // Keys refused for `reason`.
  uint64_t rejected(KeyRefusal reason) const noexcept {
    return rejected_[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
  }

  // A read-side critical section (see the class comment): lookups inside it may read table
  // memory a concurrent sweep retires; the sweep frees it only after the section ends. Nests
  // (an inner section of the same table costs a thread-local check). Owner-thread only; must
  // not be held across a Sweep() on the same thread.
  class ReadSection {
   public:
    // Inline: the nested case (the common one on the decode path) is one thread-local load.
    explicit ReadSection(const KeyTable& table) noexcept {
      if (tls_section_table_ != &table) Enter(table);
    }
    ~ReadSection() {
      if (table_ != nullptr) Exit();
    }
    ReadSection(const ReadSection&) = delete;
    ReadSection& operator=(const ReadSection&) = delete;

   private:
    void Enter(const KeyTable& table) noexcept;
    void Exit() noexcept;

    const KeyTable* table_ = nullptr;  // null: nested, nothing to undo
    const KeyTable* outer_ = nullptr;  // the thread's previous innermost section's table
    uint32_t phase_ = 0;
    uint32_t shard_ = 0;
  };

  // Batch registration (event::Batch calls these; tests may too). EnterEpoch registers one
  // holder at the current epoch and returns it; LeaveEpoch(e) ends a registration made at `e`;
  // LowerEpoch(held, to) moves a registration at `held` to min(held, to) and returns it (`to`
  // must be the epoch of a registration that is live during the call). Lock-free,
  // allocation-free. Thread-safe.
  uint32_t EnterEpoch() noexcept;
  void LeaveEpoch(uint32_t epoch) noexcept;
  uint32_t LowerEpoch(uint32_t held, uint32_t to) noexcept;
  uint32_t epoch() const noexcept { return epoch_.load(std::memory_order_acquire); }

  struct SweepStats {
    std::size_t unlinked = 0;     // reclaimable keys taken out of the index by this sweep
    std::size_t reclaimed = 0;    // ids recycled (unlinked by an earlier sweep)
    bool epoch_advanced = false;  // false: a batch of the oldest epoch slot is still live
  };
  // Reclaims what no holder can see (see the class comment). Control plane: takes the insert
  // mutex for a pass over the table and waits for the ReadSections that began before it
  // (microseconds to milliseconds). Several calls are needed before a key is recycled: one
  // unlinks it, a later one (after its epoch's batches are gone) recycles it. Thread-safe;
  // sweeps are serialised. Must not be called inside a ReadSection of this table.
  SweepStats Sweep();

  // Ids recycled by sweeps so far, sweeps run, and the duration of the latest one.
  uint64_t reclaimed() const noexcept { return reclaimed_total_.load(std::memory_order_relaxed); }
  uint64_t sweeps() const noexcept { return sweeps_.load(std::memory_order_relaxed); }
  uint64_t last_sweep_ns() const noexcept { return last_sweep_ns_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    uint64_t hash;
    std::string name;
  };
  // The states of an id (state_[id]).
  static constexpr uint32_t kFree = 0;         // names nothing; on free_ids_ or never used
  static constexpr uint32_t kReclaimable = 1;  // in the index; a sweep may unlink it
  static constexpr uint32_t kPermanent = 2;    // in the index for good
  static constexpr uint32_t kUnlinked = 3;     // out of the index; recycled once unseen
  static constexpr uint32_t kReaderShards = 16;

  struct alignas(64) PaddedCounter {
    std::atomic<int64_t> n{0};
  };
  // A hash index: slots[i] holds id + 1 of the key hashed there, 0 when empty. Replaced (not
  // edited) when keys are unlinked, so lock-free readers never see a hole in a probe chain.
  struct Index {
    explicit Index(std::size_t slot_count);
    std::unique_ptr<std::atomic<uint32_t>[]> slots;
  };
  // Probe()'s "not in the index".
  static constexpr uint32_t kNoId = UINT32_MAX;
  // The innermost ReadSection's table on this thread (nesting check).
  static inline thread_local const KeyTable* tls_section_table_ = nullptr;

  static uint64_t Hash(std::string_view s) noexcept;
  // The id of `key` in the current index, or kNoId. Caller is inside a ReadSection (or holds
  // mu_). A bare index in a register: GCC returns a struct or an optional through memory.
  uint32_t Probe(std::string_view key, uint64_t hash) const noexcept;
  // Records that `id` was looked up in the current epoch.
  void Mark(uint32_t id) noexcept {
    const uint32_t e = epoch_.load(std::memory_order_relaxed);
    // Relaxed: the mark is a hint for which keys to unlink (see the class comment), and the
    // load-before-store keeps the common case (already marked this epoch) free of writes, so
    // the marks of hot keys stay shared read-only between lookup threads.
    if (mark_[id].load(std::memory_order_relaxed) != e) {
      mark_[id].store(e, std::memory_order_relaxed);
    }
  }
  // Makes the key `id` permanent; false when it is no longer in the index (caller retries
  // under mu_).
  bool MakePermanent(uint32_t id) noexcept;
  // Intern's lock-free part: Probe, MakePermanent when kPermanent, Mark. Returns the id or kNoId
  // (not found, or unlinked meanwhile). Caller is inside a ReadSection of this table.
  template <bool kPermanent>
  uint32_t LookUp(std::string_view key, uint64_t hash) noexcept;
  // LookUp inside a ReadSection of its own (the caller is in none of this table's): kept out
  // of line so the nested case, the decoders' hot path, builds no section object.
  template <bool kPermanent>
  uint32_t LookUpInSection(std::string_view key, uint64_t hash) noexcept;
  // The Intern functions, returning the id or kNoId (refused). Out of line, with inline public
  // wrappers: GCC returns an std::optional<KeyId> by storing its two parts and reloading them
  // as one word (a store-forwarding stall on every lookup); a bare index stays in a register
  // and the caller's optional is optimised away. Explicitly instantiated in attribute.cc.
  template <bool kPermanent>
  uint32_t InternIndex(std::string_view key, KeyBudget* budget) noexcept;
  static std::optional<KeyId> ToKeyId(uint32_t id) noexcept {
    if (id == kNoId) return std::nullopt;
    return KeyId{id};
  }
  // The slow path: `key` (hash `hash`) was not found lock-free, or must become permanent.
  uint32_t InternNew(std::string_view key, uint64_t hash, KeyBudget* budget,
                     bool permanent) noexcept;
  // Counts a refusal; returns kNoId.
  uint32_t Refuse(KeyRefusal reason, KeyBudget* budget) noexcept;
  void InsertSlot(Index& index, uint64_t hash, uint32_t id) noexcept;
  // The oldest epoch with a live batch; `current` when none is live.
  uint32_t OldestLiveEpoch(uint32_t current) const noexcept;
  // Waits until every ReadSection that began before the call has ended.
  void Synchronize();

  const std::size_t capacity_;
  const std::size_t max_key_bytes_;
  const std::size_t slot_mask_;  // an index has 2 * capacity slots rounded to a power of two
  // The current index. Stored (seq_cst, under mu_) after the index is filled; loaded
  // (seq_cst) by Probe(). A replaced index is deleted after Synchronize().
  std::atomic<Index*> index_;
  // entries_[id], published with release before the slot that names it; loaded with acquire
  // by Probe() and Name(). Null for a free id.
  std::unique_ptr<std::atomic<const Entry*>[]> entries_;
  std::unique_ptr<std::atomic<uint32_t>[]> state_;  // kFree ... kUnlinked, see above
  std::unique_ptr<std::atomic<uint32_t>[]> mark_;   // epoch of the latest lookup; relaxed
  std::atomic<std::size_t> size_{0};
  std::atomic<uint64_t> rejected_[kKeyRefusalCount] = {};  // by KeyRefusal; statistic, relaxed

  // Epochs (see the class comment). epoch_ and live_ are seq_cst: EnterEpoch's re-check and
  // Sweep's slot check are a store-load pair on each side.
  alignas(64) std::atomic<uint32_t> epoch_{kEpochSlots};  // never below kEpochSlots
  PaddedCounter live_[kEpochSlots];
  // Read sections: a reader increments readers_[phase][its shard]; Synchronize flips phase_
  // and waits for the old phase's counters to drain.
  alignas(64) std::atomic<uint32_t> phase_{0};
  mutable PaddedCounter readers_[2][kReaderShards];  // written by const lookups

  std::atomic<uint64_t> reclaimed_total_{0};  // statistics; relaxed
  std::atomic<uint64_t> sweeps_{0};
  std::atomic<uint64_t> last_sweep_ns_{0};

  strobe::Mutex sweep_mu_;  // serialises sweeps; taken before mu_
  strobe::Mutex mu_;        // serialises inserts and state changes made by sweeps
  std::unique_ptr<Index> index_owner_ STROBE_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Entry>> owned_ STROBE_GUARDED_BY(mu_);  // by id
  std::vector<uint32_t> free_ids_ STROBE_GUARDED_BY(mu_);
  uint32_t next_id_ STROBE_GUARDED_BY(mu_) = 0;  // ids below it have been handed out once
  struct Pending {
    uint32_t id;
    uint32_t epoch;  // unlinked while the table was at this epoch
  };
  std::vector<Pending> pending_ STROBE_GUARDED_BY(mu_);
};

// Well-known keys, interned first into KeyTable::Global() (ids are fixed).
namespace keys {
inline constexpr KeyId kServiceName{0};       // "service.name"
inline constexpr KeyId kHttpStatusCode{1};    // "http.response.status_code"
inline constexpr KeyId kErrorType{2};         // "error.type"
inline constexpr KeyId kSamplingPriority{3};  // "sampling.priority"
}  // namespace keys

}  // namespace strobed::event
