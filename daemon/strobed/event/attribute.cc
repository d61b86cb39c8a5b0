#include "strobed/event/attribute.h"

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "strobe/base/check.h"
#include "strobed/event/key_quota.h"

namespace strobed::event {

std::string_view KeyRefusalName(KeyRefusal reason) {
  switch (reason) {
    case KeyRefusal::kNone:
      return "none";
    case KeyRefusal::kTooLong:
      return "key_too_long";
    case KeyRefusal::kTableFull:
      return "key_table_full";
    case KeyRefusal::kRequestLimit:
      return "key_request_limit";
    case KeyRefusal::kSourceLimit:
      return "key_source_limit";
  }
  return "unknown";
}

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kEmpty:
      return "empty";
    case ValueType::kString:
      return "string";
    case ValueType::kBool:
      return "bool";
    case ValueType::kInt:
      return "int";
    case ValueType::kDouble:
      return "double";
    case ValueType::kBytes:
      return "bytes";
    case ValueType::kArray:
      return "array";
    case ValueType::kKvList:
      return "kvlist";
  }
  return "unknown";
}

bool operator==(const Value& a, const Value& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case ValueType::kEmpty:
      return true;
    case ValueType::kString:
      return a.AsString() == b.AsString();
    case ValueType::kBool:
      return a.b_ == b.b_;
    case ValueType::kInt:
      return a.i_ == b.i_;
    case ValueType::kDouble:
      return a.d_ == b.d_;
    case ValueType::kBytes:
      return a.size_ == b.size_ && (a.size_ == 0 || std::memcmp(a.u8_, b.u8_, a.size_) == 0);
    case ValueType::kArray: {
      if (a.size_ != b.size_) return false;
      for (uint32_t i = 0; i < a.size_; ++i) {
        if (!(a.a_[i] == b.a_[i])) return false;
      }
      return true;
    }
    case ValueType::kKvList: {
      if (a.size_ != b.size_) return false;
      for (uint32_t i = 0; i < a.size_; ++i) {
        if (a.kv_[i].key != b.kv_[i].key || !(a.kv_[i].value == b.kv_[i].value)) return false;
      }
      return true;
    }
  }
  return false;
}

std::string Value::ToString() const {
  switch (type_) {
    case ValueType::kEmpty:
      return "<empty>";
    case ValueType::kString:
      return "\"" + std::string(AsString()) + "\"";
    case ValueType::kBool:
      return b_ ? "true" : "false";
    case ValueType::kInt:
      return std::to_string(i_);
    case ValueType::kDouble: {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.17g", d_);
      return buf;
    }
    case ValueType::kBytes: {
      static constexpr char kHex[] = "0123456789abcdef";
      std::string out = "0x";
      for (uint8_t c : AsBytes()) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
      return out;
    }
    case ValueType::kArray: {
      std::string out = "[";
      for (uint32_t i = 0; i < size_; ++i) {
        if (i != 0) out += ", ";
        out += a_[i].ToString();
      }
      return out + "]";
    }
    case ValueType::kKvList: {
      std::string out = "{";
      for (uint32_t i = 0; i < size_; ++i) {
        if (i != 0) out += ", ";
        out += std::string(KeyTable::Global().Name(kv_[i].key)) + "=" + kv_[i].value.ToString();
      }
      return out + "}";
    }
  }
  return "?";
}

KeyTable::Index::Index(std::size_t slot_count)
    : slots(std::make_unique<std::atomic<uint32_t>[]>(slot_count)) {
  for (std::size_t i = 0; i < slot_count; ++i) slots[i].store(0, std::memory_order_relaxed);
}

KeyTable::KeyTable(std::size_t capacity, std::size_t max_key_bytes)
    : capacity_(capacity),
      max_key_bytes_(max_key_bytes),
      slot_mask_([capacity] {
        std::size_t n = 2;
        while (n < capacity * 2) n <<= 1;
        return n - 1;
      }()),
      index_(nullptr),
      entries_(std::make_unique<std::atomic<const Entry*>[]>(capacity)),
      state_(std::make_unique<std::atomic<uint32_t>[]>(capacity)),
      mark_(std::make_unique<std::atomic<uint32_t>[]>(capacity)) {
  for (std::size_t i = 0; i < capacity; ++i) {
    entries_[i].store(nullptr, std::memory_order_relaxed);
    state_[i].store(kFree, std::memory_order_relaxed);
    mark_[i].store(0, std::memory_order_relaxed);
  }
  // Ids and id + 1 (the index's slots) fit in 32 bits, and no id is kNoId.
  STROBE_CHECK(capacity < kNoId);
  strobe::MutexLock lock(mu_);
  index_owner_ = std::make_unique<Index>(slot_mask_ + 1);
  index_.store(index_owner_.get(), std::memory_order_release);
  owned_.resize(capacity);
}

KeyTable::~KeyTable() = default;

KeyTable& KeyTable::Global() {
  static KeyTable* table = [] {
    auto* t = new KeyTable();
    // Order fixes the ids in namespace keys.
    (void)t->Intern("service.name");
    (void)t->Intern("http.response.status_code");
    (void)t->Intern("error.type");
    (void)t->Intern("sampling.priority");
    // Keys the daemon adds to data itself (producer identity, Prometheus job/instance): interned
    // before any client can be refused a key, so identity attributes are never the ones lost.
    for (const char* k :
         {"process.pid", "process.user.id", "service.namespace", "service.instance.id"}) {
      (void)t->Intern(k);
    }
    return t;
  }();
  return *table;
}

namespace {

__extension__ using U128 = unsigned __int128;

// The 128-bit product's halves xored: every bit of either factor reaches every result bit.
inline uint64_t FoldedMultiply(uint64_t a, uint64_t b) noexcept {
  const U128 p = static_cast<U128>(a) * b;
  return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}
inline uint64_t Load64(const char* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline uint64_t Load32(const char* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

}  // namespace

inline uint64_t KeyTable::Hash(std::string_view s) noexcept {
  // Eight bytes per folded multiply, then the last 1-8 bytes as two overlapping 4-byte words (or
  // three single bytes), the length in the seed. Keys are mostly 10-20 bytes, so a lookup hashes
  // with 2-3 multiplies where FNV-1a (used before) took one per byte, over 40 % of a known
  // key's lookup (callgrind, bench/RESULTS.md). Unkeyed like FNV-1a: a client can find
  // colliding keys for either, which is why key budgets and quotas, not the hash, bound what
  // one client can add to the index.
  constexpr uint64_t kSeed = 0x9e3779b97f4a7c15ULL;
  constexpr uint64_t kMul = 0xbf58476d1ce4e5b9ULL;
  constexpr uint64_t kFinal = 0x94d049bb133111ebULL;
  const char* p = s.data();
  std::size_t n = s.size();
  uint64_t h = kSeed ^ n;
  for (; n > 8; p += 8, n -= 8) h = FoldedMultiply(h ^ Load64(p), kMul);
  uint64_t tail = 0;
  if (n >= 4) {
    tail = (Load32(p) << 32) | Load32(p + n - 4);
  } else if (n > 0) {
    tail = (uint64_t{static_cast<uint8_t>(p[0])} << 16) |
           (uint64_t{static_cast<uint8_t>(p[n / 2])} << 8) | static_cast<uint8_t>(p[n - 1]);
  }
  return FoldedMultiply(h ^ tail, kFinal);
}

// ---- Read sections --------------------------------------------------------------------------

namespace {

// The thread's reader shard (spreads the reader counters over cache lines).
thread_local uint32_t tls_reader_shard = UINT32_MAX;
std::atomic<uint32_t> next_reader_shard{0};

}  // namespace

void KeyTable::ReadSection::Enter(const KeyTable& table) noexcept {
  if (tls_reader_shard == UINT32_MAX) {
    tls_reader_shard = next_reader_shard.fetch_add(1, std::memory_order_relaxed) % kReaderShards;
  }
  table_ = &table;
  outer_ = tls_section_table_;
  shard_ = tls_reader_shard;
  // seq_cst, like Probe()'s load of the index and Synchronize()'s phase store and counter
  // loads (no fences: TSan does not model them). Either this load reads the flipped phase, and
  // then everything the sweep did before the flip is visible here; or it reads the old phase,
  // and then Synchronize's load of this counter precedes the increment in the single total
  // order (and the sweep's index store precedes both, so Probe() sees the new index) or sees
  // the increment and waits for the decrement.
  phase_ = table.phase_.load(std::memory_order_seq_cst);
  table.readers_[phase_][shard_].n.fetch_add(1, std::memory_order_seq_cst);
  tls_section_table_ = &table;
}

void KeyTable::ReadSection::Exit() noexcept {
  tls_section_table_ = outer_;
  // Release pairs with Synchronize()'s acquire loads: this section's reads are done.
  table_->readers_[phase_][shard_].n.fetch_sub(1, std::memory_order_release);
}

void KeyTable::Synchronize() {
  STROBE_CHECK(tls_section_table_ != this);  // would wait for itself
  // The seq_cst store and loads pair with ReadSection()'s seq_cst load and increment (see
  // there); acquire on the counters also orders a section's reads before what follows here.
  const uint32_t old = phase_.load(std::memory_order_relaxed);  // only sweeps (serialised) flip
  phase_.store(old ^ 1U, std::memory_order_seq_cst);
  for (;;) {
    int64_t active = 0;
    for (const PaddedCounter& c : readers_[old]) active += c.n.load(std::memory_order_seq_cst);
    if (active == 0) return;
    std::this_thread::yield();  // sections are short: one request's decode at most
  }
}

// ---- Epochs ---------------------------------------------------------------------------------

uint32_t KeyTable::EnterEpoch() noexcept {
  for (;;) {
    const uint32_t e = epoch_.load(std::memory_order_seq_cst);
    live_[e % kEpochSlots].n.fetch_add(1, std::memory_order_seq_cst);
    // Re-check (a store-load pair with Sweep's slot check and epoch store): if the epoch moved
    // meanwhile, the sweep may not have counted this registration; register again.
    if (epoch_.load(std::memory_order_seq_cst) == e) return e;
    live_[e % kEpochSlots].n.fetch_sub(1, std::memory_order_seq_cst);
  }
}

void KeyTable::LeaveEpoch(uint32_t epoch) noexcept {
  // seq_cst like every live_ access (see EnterEpoch); it also orders the batch's last use of
  // its ids before a sweep that sees the count drop.
  live_[epoch % kEpochSlots].n.fetch_sub(1, std::memory_order_seq_cst);
}

uint32_t KeyTable::LowerEpoch(uint32_t held, uint32_t to) noexcept {
  if (static_cast<int32_t>(to - held) >= 0) return held;
  // `to` is live (the caller's source batch), so its slot is inside the live window.
  live_[to % kEpochSlots].n.fetch_add(1, std::memory_order_seq_cst);
  live_[held % kEpochSlots].n.fetch_sub(1, std::memory_order_seq_cst);
  return to;
}

uint32_t KeyTable::OldestLiveEpoch(uint32_t current) const noexcept {
  // Live epochs are within (current - kEpochSlots, current]: Sweep advances only into an
  // empty slot.
  for (uint32_t back = kEpochSlots - 1;; --back) {
    const uint32_t e = current - back;
    if (live_[e % kEpochSlots].n.load(std::memory_order_seq_cst) > 0) return e;
    if (back == 0) return current;
  }
}

// ---- Lookups --------------------------------------------------------------------------------

inline uint32_t KeyTable::Probe(std::string_view key, uint64_t hash) const noexcept {
  // seq_cst (a plain load on x86): pairs with Sweep()'s seq_cst store of a new index; part of
  // the ReadSection argument (see ReadSection()).
  const Index* index = index_.load(std::memory_order_seq_cst);
  // Locals: the compiler may not keep members in registers across the atomic loads below.
  const std::atomic<uint32_t>* const slots = index->slots.get();
  const std::atomic<const Entry*>* const entries = entries_.get();
  const std::size_t mask = slot_mask_;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    // Acquire pairs with the release store in InsertSlot(): entries_[id] is visible.
    const uint32_t v = slots[i].load(std::memory_order_acquire);
    if (v == 0) return kNoId;
    const Entry* e = entries[v - 1].load(std::memory_order_acquire);
    // Null: the id was recycled after this (replaced) index was loaded; it is not `key`'s.
    if (e != nullptr && e->hash == hash && e->name == key) return v - 1;
  }
}

std::optional<KeyId> KeyTable::Find(std::string_view key) const noexcept {
  ReadSection section(*this);
  const uint32_t id = Probe(key, Hash(key));
  if (id == kNoId) return std::nullopt;
  return KeyId{id};
}

bool KeyTable::MakePermanent(uint32_t id) noexcept {
  uint32_t s = state_[id].load(std::memory_order_acquire);
  for (;;) {
    if (s == kPermanent) return true;
    if (s != kReclaimable) return false;  // unlinked by a sweep (or recycled): slow path
    // Pairs with Sweep's compare-exchange kReclaimable -> kUnlinked: only one of them wins.
    if (state_[id].compare_exchange_weak(s, kPermanent, std::memory_order_acq_rel)) return true;
  }
}

template <bool kPermanent>
inline uint32_t KeyTable::LookUp(std::string_view key, uint64_t hash) noexcept {
  const uint32_t id = Probe(key, hash);  // known keys are never charged
  if (id == kNoId) return kNoId;
  // Inside the section the id cannot be recycled (Sweep hands ids out again only after
  // Synchronize), so MakePermanent and Mark act on `key`'s id.
  if (kPermanent && !MakePermanent(id)) return kNoId;
  Mark(id);
  return id;
}

template <bool kPermanent>
[[gnu::noinline]] uint32_t KeyTable::LookUpInSection(std::string_view key, uint64_t hash) noexcept {
  ReadSection section(*this);
  return LookUp<kPermanent>(key, hash);
}

template <bool kPermanent>
uint32_t KeyTable::InternIndex(std::string_view key, KeyBudget* budget) noexcept {
  const uint64_t hash = Hash(key);
  // Nested in a section of this table (the OTLP decoders hold one per request): the thread's
  // section covers this lookup, so no section object, no counter.
  const uint32_t id = tls_section_table_ == this ? LookUp<kPermanent>(key, hash)
                                                 : LookUpInSection<kPermanent>(key, hash);
  if (id != kNoId) return id;
  return InternNew(key, hash, budget, kPermanent);
}
template uint32_t KeyTable::InternIndex<false>(std::string_view, KeyBudget*) noexcept;
template uint32_t KeyTable::InternIndex<true>(std::string_view, KeyBudget*) noexcept;

uint32_t KeyTable::Refuse(KeyRefusal reason, KeyBudget* budget) noexcept {
  const auto r = static_cast<std::size_t>(reason);
  rejected_[r].fetch_add(1, std::memory_order_relaxed);
  if (budget != nullptr) {
    ++budget->refused;
    ++budget->refused_by[r];
    budget->last_refusal = reason;
    if (budget->first_refusal == KeyRefusal::kNone) budget->first_refusal = reason;
  }
  return kNoId;
}

uint64_t KeyTable::rejected() const noexcept {
  uint64_t n = 0;
  for (const auto& r : rejected_) n += r.load(std::memory_order_relaxed);
  return n;
}

void KeyTable::InsertSlot(Index& index, uint64_t hash, uint32_t id) noexcept {
  std::size_t i = hash & slot_mask_;
  while (index.slots[i].load(std::memory_order_relaxed) != 0) i = (i + 1) & slot_mask_;
  // Release pairs with Probe()'s acquire: the entry was published before.
  index.slots[i].store(id + 1, std::memory_order_release);
}

uint32_t KeyTable::InternNew(std::string_view key, uint64_t hash, KeyBudget* budget,
                             bool permanent) noexcept {
  if (key.size() > max_key_bytes_) return Refuse(KeyRefusal::kTooLong, budget);
  strobe::MutexLock lock(mu_);
  // Under mu_ the index is the current one and no sweep changes states.
  if (const uint32_t found = Probe(key, hash); found != kNoId) {  // added meanwhile
    if (permanent) state_[found].store(kPermanent, std::memory_order_release);
    Mark(found);
    return found;
  }
  if (size_.load(std::memory_order_relaxed) >= capacity_) {
    return Refuse(KeyRefusal::kTableFull, budget);
  }
  if (budget != nullptr) {
    if (budget->added >= budget->max_new_keys) return Refuse(KeyRefusal::kRequestLimit, budget);
    // Charged last, so a key refused for another reason costs the source nothing.
    if (budget->quota != nullptr && !budget->quota->Take(budget->source, budget->now_ns)) {
      return Refuse(KeyRefusal::kSourceLimit, budget);
    }
    ++budget->added;
  }
  uint32_t id = 0;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = next_id_++;
  }
  owned_[id] = std::make_unique<Entry>(Entry{hash, std::string(key)});
  mark_[id].store(epoch_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  state_[id].store(permanent ? kPermanent : kReclaimable, std::memory_order_release);
  // Release pairs with the acquire loads in Probe()/Name(): the entry's text is visible.
  entries_[id].store(owned_[id].get(), std::memory_order_release);
  InsertSlot(*index_owner_, hash, id);
  size_.fetch_add(1, std::memory_order_release);
  return id;
}

std::string_view KeyTable::Name(KeyId id) const noexcept {
  if (id.index >= capacity_) return {};
  // Acquire pairs with the release store in InternNew().
  const Entry* e = entries_[id.index].load(std::memory_order_acquire);
  return e == nullptr ? std::string_view{} : std::string_view(e->name);
}

// ---- Sweep ----------------------------------------------------------------------------------

KeyTable::SweepStats KeyTable::Sweep() {
  const auto start = std::chrono::steady_clock::now();
  SweepStats stats;
  strobe::MutexLock sweep_lock(sweep_mu_);
  std::vector<uint32_t> recycled;
  std::vector<std::unique_ptr<Entry>> retired_entries;
  std::unique_ptr<Index> retired_index;
  {
    strobe::MutexLock lock(mu_);
    const uint32_t current = epoch_.load(std::memory_order_seq_cst);
    const uint32_t oldest = OldestLiveEpoch(current);
    // (3) Recycle keys unlinked at an epoch no live batch is from. Their ids go back to
    // free_ids_ only after Synchronize (below): a lookup that found one in a replaced index
    // must not see it reused while its section lasts.
    std::size_t keep = 0;
    for (const Pending& p : pending_) {
      if (static_cast<int32_t>(oldest - p.epoch) > 0) {
        state_[p.id].store(kFree, std::memory_order_release);
        entries_[p.id].store(nullptr, std::memory_order_release);
        retired_entries.push_back(std::move(owned_[p.id]));
        recycled.push_back(p.id);
      } else {
        pending_[keep++] = p;
      }
    }
    pending_.resize(keep);
    // (1) Unlink reclaimable keys not looked up since before the oldest live batch.
    for (uint32_t id = 0; id < next_id_; ++id) {
      uint32_t s = kReclaimable;
      if (state_[id].load(std::memory_order_relaxed) != kReclaimable) continue;
      if (static_cast<int32_t>(mark_[id].load(std::memory_order_relaxed) - oldest) >= 0) continue;
      // Pairs with MakePermanent's compare-exchange: a key made permanent meanwhile stays.
      if (!state_[id].compare_exchange_strong(s, kUnlinked, std::memory_order_acq_rel)) continue;
      pending_.push_back({id, current});
      ++stats.unlinked;
    }
    if (stats.unlinked > 0) {
      auto fresh = std::make_unique<Index>(slot_mask_ + 1);
      for (uint32_t id = 0; id < next_id_; ++id) {
        const uint32_t s = state_[id].load(std::memory_order_relaxed);
        if (s == kReclaimable || s == kPermanent) InsertSlot(*fresh, owned_[id]->hash, id);
      }
      // seq_cst: pairs with Probe()'s load (the new index is filled) and orders the store
      // before the phase flip in Synchronize() and the epoch store below.
      index_.store(fresh.get(), std::memory_order_seq_cst);
      retired_index = std::move(index_owner_);
      index_owner_ = std::move(fresh);
    }
    // (2) Advance the epoch when the slot it will use holds no live batch. seq_cst, after the
    // index store: a batch that registers at the new epoch sees the new index (see the class
    // comment), and EnterEpoch's re-check pairs with this slot check.
    const uint32_t next = current + 1;
    if (live_[next % kEpochSlots].n.load(std::memory_order_seq_cst) == 0) {
      epoch_.store(next, std::memory_order_seq_cst);
      stats.epoch_advanced = true;
    }
  }
  if (!recycled.empty() || retired_index != nullptr) Synchronize();
  if (!recycled.empty()) {
    strobe::MutexLock lock(mu_);
    free_ids_.insert(free_ids_.end(), recycled.begin(), recycled.end());
    size_.fetch_sub(recycled.size(), std::memory_order_release);
  }
  stats.reclaimed = recycled.size();
  retired_entries.clear();  // after the grace period: no lookup can still read them
  retired_index.reset();
  reclaimed_total_.fetch_add(stats.reclaimed, std::memory_order_relaxed);
  sweeps_.fetch_add(1, std::memory_order_relaxed);
  last_sweep_ns_.store(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                 std::chrono::steady_clock::now() - start)
                                                 .count()),
                       std::memory_order_relaxed);
  return stats;
}

}  // namespace strobed::event
